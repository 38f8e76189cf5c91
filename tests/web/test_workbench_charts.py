"""The workbench's charts: reads per organisation, purpose and role (refused beside
allowed) and break-glass per month, as SVG with a table behind each, in both
languages, counting only the organisation's events."""

from __future__ import annotations

import uuid

from litestar.testing import TestClient
from sqlalchemy import select

from tests.web.conftest import ORG, OTHER_ORG, World, csrf_of, staff_login
from vault.audit.events import AuditEvent, Outcome
from vault.identity.models import User
from vault.vocabulary import EventAction, Principal, Role
from vault.web.chart_bars import grouped_bars, month_bars

Client = TestClient  # type: ignore[type-arg]


def _principal(world: World, username: str) -> Principal:
    with world.services.db.read_session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return Principal(user.id, Role(user.role), user.organization)


def _read(world: World, username: str, subject: uuid.UUID, purpose: str, outcome: Outcome) -> None:
    world.services.audit.append(
        AuditEvent.by(
            _principal(world, username),
            EventAction.RECORD_READ,
            outcome,
            subject_id=subject,
            purpose=purpose,
            categories=("psychological",),
        )
    )


def test_the_charts_count_reads_per_purpose_role_and_break_glass_per_month(
    world: World, client: Client
) -> None:
    """Allowed and refused reads show per purpose and role; break-glass per month; tables too."""
    subject = world.subject(pin=None)
    _read(world, "counselor1", subject, "counseling", Outcome.ALLOW)
    _read(world, "counselor1", subject, "counseling", Outcome.ALLOW)
    _read(world, "health1", subject, "health_treatment", Outcome.DENY)
    world.services.audit.append(
        AuditEvent.by(
            _principal(world, "health1"),
            EventAction.BREAK_GLASS_OPEN,
            Outcome.ALLOW,
            subject_id=subject,
        )
    )
    theirs = world.subject(organization=OTHER_ORG, pin=None)
    _read(world, "officer2", theirs, "legal_aid", Outcome.ALLOW)
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get("/dashboard/charts").text
    assert "Pembacaan per tujuan" in page
    assert page.count("<svg") == 4
    assert "<td>counseling</td><td>2</td><td>0</td>" in page
    assert "<td>health_treatment</td><td>0</td><td>1</td>" in page
    assert "<td>counselor</td><td>2</td><td>0</td>" in page
    assert f"<td>{ORG}</td><td>2</td><td>1</td>" in page
    month = world.clock().strftime("%Y-%m")
    assert f"<td>{month}</td><td>1</td>" in page
    assert "legal_aid" not in page
    assert OTHER_ORG not in page


def test_the_charts_speak_english_after_the_switch(world: World, client: Client) -> None:
    """Every chart title and table heading follows the dashboard's language."""
    page = staff_login(client, "compliance1", "/dashboard/login")
    client.post("/dashboard/language", data={"csrf_token": csrf_of(page), "language": "en"})
    charts = client.get("/dashboard/charts").text
    assert "Reads per purpose" in charts
    assert "Break-glass grants opened per month" in charts
    assert "Pembacaan" not in charts


def test_chart_labels_are_escaped() -> None:
    """A label carrying markup is drawn as text, never as markup."""
    drawn = grouped_bars(
        [("<script>alert(1)</script>", 3, 1)],
        chart_id="x",
        title="<b>t</b>",
        allowed_label="ok",
        denied_label="no",
    )
    assert "<script>" not in drawn
    assert "&lt;script&gt;" in drawn
    assert "<b>" not in month_bars([("2026-<i>", 2)], chart_id="m", title="<b>t</b>")
