"""A browser session changed in the database (another subject, a higher role, other
choices or another language in its signing flow) ends, and one written back from before
its end stays ended."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import select, text, update

from tests.web.conftest import PIN, World, csrf_of, open_kiosk, staff_login
from vault.identity.session_models import WebSession


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


def _saved(world: World, kind: str) -> dict[str, Any]:
    """Every column of the live session row of that kind, as a database writer copies it."""
    table: Any = WebSession
    with world.services.db.read_session() as session:
        query = select(table.__table__).where(table.kind == kind, table.ended_at.is_(None))
        return dict(session.execute(query).mappings().one())


def _put_back(world: World, row: dict[str, Any]) -> None:
    """Write a copied session row back over the current one, every column."""
    table: Any = WebSession
    with world.services.db.session() as session:
        session.execute(update(table).where(table.id == row["id"]).values(**row))


def test_a_dashboard_session_copied_back_from_before_its_logout_stays_ended(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The row of a dashboard session saved before the logout and written back after it
    (seal and all) does not bring the session back: the logout is in the audit log."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    cookie = client.cookies.get("vault_dashboard")
    assert cookie
    before = _saved(world, "dashboard")
    out = client.post("/dashboard/logout", data={"csrf_token": csrf_of(page)})
    assert out.status_code == 200, out.text
    _put_back(world, before)
    client.cookies.set("vault_dashboard", cookie)
    again = client.get("/dashboard", follow_redirects=False)
    assert again.status_code == 303, again.text
    assert again.headers["location"].startswith("/dashboard/login")


def test_a_kiosk_session_copied_back_from_before_it_ended_stays_ended(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The subject's kiosk session ended at the tablet, its row written back from before:
    the tablet opens nothing (the session's end is in the audit log)."""
    home = open_kiosk(client, world.subject())
    cookie = client.cookies.get("vault_kiosk")
    assert cookie
    before = _saved(world, "kiosk")
    ended = client.post("/kiosk/end", data={"csrf_token": csrf_of(home)})
    assert ended.status_code == 200, ended.text
    _put_back(world, before)
    client.cookies.set("vault_kiosk", cookie)
    again = client.get("/kiosk/home", follow_redirects=False)
    assert again.status_code == 303, again.text
    assert again.headers["location"].startswith(("/kiosk/ended", "/kiosk/login"))


FORM = "rehabilitation"
HANDOVER = "handover_kemensos"
HEALTH = "health_treatment"


def _at_summary(world: World, client: TestClient) -> str:  # type: ignore[type-arg]
    """Walk every purpose, refusing health treatment and the handover; the summary page."""
    page = client.get(f"/kiosk/forms/{FORM}/purposes/1")
    for purpose in world.services.consents.form(FORM).purposes:
        choice = "refuse" if purpose.code in (HEALTH, HANDOVER) else "accept"
        page = client.post(
            str(page.url.path), data={"csrf_token": csrf_of(page.text), "choice": choice}
        )
        assert page.status_code == 200, page.text
    assert page.url.path.endswith("/summary")
    return page.text


def _write_kiosk_column(world: World, column: str, value: str) -> None:
    """Set a column of the live kiosk session straight in the database."""
    with world.services.db.session() as session:
        session.execute(
            text(f"UPDATE web_sessions SET {column} = :value WHERE kind = 'kiosk'"),
            {"value": value},
        )


def test_choices_rewritten_in_a_kiosk_flow_sign_nothing(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """The subject refused health treatment and sees it refused on the summary; a database
    writer then turns the flow's choice into an acceptance: the PIN signs nothing, and the
    session ends."""
    subject = world.subject()
    open_kiosk(client, subject)
    summary = _at_summary(world, client)
    flow = json.loads(_saved(world, "kiosk")["flow"])
    assert flow["choices"][HEALTH] is False
    flow["choices"][HEALTH] = True
    _write_kiosk_column(world, "flow", json.dumps(flow, separators=(",", ":"), sort_keys=True))
    signed = client.post(
        f"/kiosk/forms/{FORM}/sign",
        data={"csrf_token": csrf_of(summary), "pin": PIN},
        follow_redirects=False,
    )
    assert signed.status_code == 303, signed.text
    assert world.services.consents.active_for_display(subject, "id") == []
    assert _kiosk_rows(world) == 0


def test_a_kiosk_flow_turned_into_a_guardians_one_ends(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """An adult's kiosk session given a minor's flow (a guardian to sign beside them), or
    another language, in the database: the next page ends it."""
    for column, value in (("flow", '{"minor":true}'), ("language", "en")):
        open_kiosk(client, world.subject())
        assert client.get("/kiosk/home", follow_redirects=False).status_code == 200
        _write_kiosk_column(world, column, value)
        moved = client.get("/kiosk/home", follow_redirects=False)
        assert moved.status_code == 303, column
        assert _kiosk_rows(world) == 0


def test_the_kiosk_own_changes_of_flow_and_language_keep_the_session(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Choices made and a language switched at the tablet are sealed with the session: it
    goes on, and the subject signs what they chose."""
    subject = world.subject()
    home = open_kiosk(client, subject)
    switched = client.post(
        "/kiosk/language",
        data={"csrf_token": csrf_of(home), "language": "en", "next": "/kiosk/home"},
    )
    assert switched.status_code == 200, switched.text
    assert _saved(world, "kiosk")["language"] == "en"
    summary = _at_summary(world, client)
    signed = client.post(
        f"/kiosk/forms/{FORM}/sign", data={"csrf_token": csrf_of(summary), "pin": PIN}
    )
    assert signed.status_code == 200, signed.text
    granted = {g.purpose for g in world.services.consents.active_consents(subject, world.clock())}
    assert "counseling" in granted
    assert not {HEALTH, HANDOVER} & granted
