"""Alerts on the workbench: nobody acknowledges an alert about their own actions, and
a page load feeds the rules only the events appended since the stored cursor, with
the same alerts as a computation from nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from tests.support import create_user, login
from tests.web.conftest import ORG, PASSWORD, World, csrf_of, staff_login
from vault.audit import alert_store
from vault.audit.alert_models import AlertCursorRow
from vault.audit.alerts import rules_from
from vault.audit.events import AuditEvent, Outcome
from vault.audit.models import EVENTS
from vault.identity.models import User
from vault.vocabulary import EventAction, Principal, Role

Client = TestClient  # type: ignore[type-arg]


def _principal(world: World, username: str) -> Principal:
    with world.services.db.read_session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return Principal(user.id, Role(user.role), user.organization)


def _hit(world: World, username: str) -> None:
    """A honeytoken hit by ``username`` on a fresh subject of the organisation."""
    world.services.audit.append(
        AuditEvent.by(
            _principal(world, username),
            EventAction.HONEYTOKEN_HIT,
            Outcome.INFO,
            subject_id=world.subject(pin=None),
        )
    )


def _acks(world: World) -> list[str]:
    """The outcomes of every acknowledgement event in the log."""
    with world.services.db.read_session() as session:
        return list(
            session.execute(
                select(EVENTS.c.outcome).where(
                    EVENTS.c.action == EventAction.AUDIT_ALERT_ACKNOWLEDGE.value
                )
            ).scalars()
        )


def _alert_on_page(page: str) -> str:
    return page.split("/dashboard/alerts/")[1].split("/")[0]


def test_an_officer_cannot_acknowledge_an_alert_about_their_own_actions(
    world: World, client: Client
) -> None:
    """The officer who touched a decoy is refused (and audited); another officer may acknowledge."""
    create_user(world.services, "compliance2", "compliance_officer", ORG, PASSWORD)
    _hit(world, "compliance1")
    page = staff_login(client, "compliance1", "/dashboard/login")
    alert = _alert_on_page(page)
    own = client.post(
        f"/dashboard/alerts/{alert}/acknowledge",
        data={"csrf_token": csrf_of(page), "note": "nothing to see"},
    )
    assert own.status_code == 403
    api = client.post(
        f"/v1/audit/alerts/{alert}/acknowledge",
        json={"note": "nothing to see"},
        headers=login(client, "compliance1", PASSWORD),
    )
    assert api.status_code == 403
    assert _acks(world) == ["deny", "deny"]
    other = client.post(
        f"/v1/audit/alerts/{alert}/acknowledge",
        json={"note": "asked compliance1 why"},
        headers=login(client, "compliance2", PASSWORD),
    )
    assert other.status_code == 200
    listed = client.get("/v1/audit/alerts", headers=login(client, "compliance2", PASSWORD))
    assert listed.json()["alerts"][0]["note"] == "asked compliance1 why"


def _cursor(world: World) -> int:
    with world.services.db.read_session() as session:
        row = session.get(AlertCursorRow, ORG)
        return -1 if row is None else row.last_seq


def _last_seq(world: World) -> int:
    with world.services.db.read_session() as session:
        return int(session.execute(select(func.max(EVENTS.c.seq))).scalar_one())


def test_a_page_load_reads_only_the_events_since_the_cursor(
    world: World, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cursor moves to the log's end; the next load decodes none of the events before it."""
    for _ in range(3):
        _hit(world, "counselor1")
    before = _last_seq(world)
    staff_login(client, "compliance1", "/dashboard/login")
    first = _cursor(world)
    assert first > before
    decoded: list[int] = []
    real = alert_store.decode

    def counting(canonical: bytes) -> dict[str, Any]:
        event = real(canonical)
        decoded.append(int(event["seq"]))
        return event

    monkeypatch.setattr(alert_store, "decode", counting)
    _hit(world, "counselor1")
    page = client.get("/dashboard").text
    assert decoded
    assert min(decoded) > first
    assert len(decoded) <= 8  # the new hit, its subject's registration, the pages' own events
    assert page.count("Data umpan disentuh") == 4
    assert _cursor(world) > first


def test_incremental_alerts_equal_a_computation_from_nothing(world: World, client: Client) -> None:
    """Loads between bursts of events store exactly the alerts one fold over the window gives."""
    rules = rules_from(world.services.settings)
    staff_login(client, "compliance1", "/dashboard/login")
    start = world.clock()
    reader = _principal(world, "counselor1")
    for round_ in range(3):
        _hit(world, "counselor1")
        for _ in range(rules.denied_burst // 2 + 1):
            refused = AuditEvent.by(
                reader, EventAction.RECORD_READ, Outcome.DENY, subject_id=uuid.uuid4()
            )
            world.services.audit.append(refused)
        world.clock.advance(minutes=3)
        client.get("/dashboard")
        assert round_ >= 0
    stored = alert_store.alerts_of(world.services.db, ORG, rules, world.clock())
    fresh = alert_store.recomputed(
        world.services.db, ORG, rules, start - timedelta(days=rules.window_days)
    )
    assert {a.rule for a in stored} == {"honeytoken", "denied_burst"}
    assert [(a.id, a.count, a.seqs) for a in stored] == [(a.id, a.count, a.seqs) for a in fresh]


def test_a_page_of_alerts_is_the_newest_with_the_counts_of_all(
    world: World, client: Client
) -> None:
    """The list is the newest alerts up to its size, counting all and the open ones."""
    rules = rules_from(world.services.settings)
    for _ in range(5):
        _hit(world, "counselor1")
    db, now = world.services.db, world.clock()
    every = alert_store.alerts_of(db, ORG, rules, now)
    page = alert_store.newest_alerts(db, ORG, rules, now, 3)
    assert [a.id for a in page.alerts] == [a.id for a in every[:3]]
    assert (page.total, page.open) == (len(every), len(every))
    officer = login(client, "compliance1", PASSWORD)
    listed = client.get("/v1/audit/alerts?limit=2", headers=officer).json()
    assert len(listed["alerts"]) == 2
    assert listed["total"] == len(every)
    first = listed["alerts"][0]["id"]
    client.post(f"/v1/audit/alerts/{first}/acknowledge", json={"note": "seen"}, headers=officer)
    after = alert_store.newest_alerts(db, ORG, rules, world.clock(), 3)
    assert (after.total, after.open) == (len(every), len(every) - 1)
    assert client.get("/v1/audit/alerts?limit=0", headers=officer).status_code == 400
