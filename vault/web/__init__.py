"""Server-rendered pages: the consent kiosk and the compliance dashboard."""

__all__: list[str] = []
