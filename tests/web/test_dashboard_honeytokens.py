"""Honeytoken subjects: planted through the ordinary registration, any search, listing or
read that touches one is recorded and shown as an alert; ordinary subjects raise nothing."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from tests.web.conftest import ORG, OTHER_ORG, World, staff_login
from vault.audit.models import EVENTS
from vault.errors import NotFound
from vault.honeytokens.cli import plant
from vault.honeytokens.watch import HoneytokenWatch
from vault.identity.models import User
from vault.vocabulary import EventAction, Principal, Role

Client = TestClient  # type: ignore[type-arg]


def _hits(world: World) -> list[uuid.UUID]:
    query = select(EVENTS.c.subject_id).where(EVENTS.c.action == EventAction.HONEYTOKEN_HIT.value)
    with world.services.db.read_session() as session:
        return [uuid.UUID(str(s)) for s in session.execute(query).scalars()]


def _principal(world: World, username: str) -> Principal:
    with world.services.db.read_session() as session:
        user = session.execute(select(User).where(User.username == username)).scalar_one()
        return Principal(user.id, Role(user.role), user.organization)


def test_a_listing_of_a_decoy_is_an_alert_on_the_dashboard(world: World, client: Client) -> None:
    """A counselor listing a decoy's records (refused or not) records a hit the officer sees."""
    [decoy] = plant(world.services, 1, ORG, "officer1")
    counselor = _principal(world, "counselor1")
    with pytest.raises(NotFound):
        world.services.records.list_records(counselor, decoy, "counseling")
    assert _hits(world) == [decoy]
    page = staff_login(client, "compliance1", "/dashboard/login")
    assert "Data umpan disentuh" in page


def test_a_search_that_finds_a_decoy_is_recorded(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that finds a decoy records a hit; one that finds an ordinary subject does not."""
    from vault.honeytokens import cli

    decoy_number = "AI 555/2026"
    invented = cli._decoy(ORG)
    monkeypatch.setattr(
        cli, "_decoy", lambda organization: replace(invented, register_number=decoy_number)
    )
    [decoy] = plant(world.services, 1, ORG, "officer1")
    officer = _principal(world, "officer1")
    assert world.services.subjects.find(officer, nik=None, register_number="NO-SUCH") == []
    assert _hits(world) == []
    found = world.services.subjects.find(officer, nik=None, register_number=decoy_number)
    assert found == [decoy]
    assert _hits(world) == [decoy]


def test_planting_needs_an_officer_of_that_organisation(world: World) -> None:
    """Planting names a real officer of the organisation as registrar, or plants nothing."""
    with pytest.raises(ValueError, match="no such officer"):
        plant(world.services, 1, ORG, "officer2")
    with pytest.raises(ValueError, match="between"):
        plant(world.services, 0, OTHER_ORG, "officer2")


def test_a_hit_can_disable_the_readers_account(world: World) -> None:
    """With the setting on, touching a decoy disables the reader (their tokens end)."""
    [decoy] = plant(world.services, 1, ORG, "officer1")
    counselor = _principal(world, "counselor1")
    watch = HoneytokenWatch(
        world.services.db, world.services.audit, on_hit=world.services.identity.disable_user
    )
    watch.touched(counselor, [world.subject()], "record.read")
    assert not world.services.identity.user(counselor.id).disabled
    watch.touched(counselor, [decoy], "record.read")
    assert world.services.identity.user(counselor.id).disabled
