"""A browser session changed in the database (another subject, a higher role) ends."""

from __future__ import annotations

from litestar.testing import TestClient
from sqlalchemy import text

from tests.web.conftest import World, open_kiosk


def _kiosk_rows(world: World) -> int:
    with world.services.db.session() as session:
        return int(
            session.execute(
                text("SELECT count(*) FROM web_sessions WHERE kind = 'kiosk' AND ended_at IS NULL")
            ).scalar_one()
        )


def test_a_kiosk_session_re_pointed_to_another_subject_ends(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A kiosk session re pointed to another subject ends."""
    first, second = world.subject(), world.subject()
    open_kiosk(client, first)
    assert client.get("/kiosk/home", follow_redirects=False).status_code == 200
    assert _kiosk_rows(world) == 1
    with world.services.db.session() as session:
        session.execute(
            text("UPDATE web_sessions SET subject_id = :other WHERE kind = 'kiosk'"),
            {"other": second.hex if world.services.db.is_sqlite else second},
        )
    moved = client.get("/kiosk/home", follow_redirects=False)
    assert moved.status_code == 303
    assert moved.headers["location"].startswith(("/kiosk/ended", "/kiosk/login"))
    assert _kiosk_rows(world) == 0  # ended, not merely refused once


def test_a_staff_session_turned_into_a_dashboard_one_is_refused(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """A staff session turned into a dashboard one is refused."""
    open_kiosk(client, world.subject())
    with world.services.db.session() as session:
        session.execute(
            text(
                "UPDATE web_sessions SET kind = 'dashboard', role = 'compliance_officer' "
                "WHERE kind = 'kiosk'"
            )
        )
    # The kiosk cookie's session now claims to be a compliance officer's dashboard.
    kiosk_cookie = client.cookies.get("vault_kiosk")
    assert kiosk_cookie
    client.cookies.set("vault_dashboard", kiosk_cookie)
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
