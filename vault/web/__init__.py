"""Server-rendered pages: the consent kiosk and the compliance dashboard."""
