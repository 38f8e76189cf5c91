"""The consent routes' gates, tried over HTTP as an insider would: every one is a policy
decision, nothing is written before it, and what a caller may not see answers like nothing."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select

from tests.support import create_user, login
from tests.world import SUBJECT_PIN, World, build_world
from vault.access.engine import PolicyEngine
from vault.audit.models import AuditRow
from vault.config import Settings
from vault.consent import http as consent_http
from vault.consent.tables import Consent, ConsentEnding
from vault.vocabulary import Decision, EventAction

OTHER_ORG = "lapas-cipinang"


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    """Staff of every role of one prison, a subject with a signed consent (tests/world.py)."""
    yield from build_world(settings)


SENTRA = "sentra-handayani"


def outsider(world: World, role: str = "officer", org: str = OTHER_ORG) -> dict[str, str]:
    name = f"{role}-{org}-{uuid.uuid4().hex[:6]}"
    create_user(world.services, name, role, org)
    return login(world.client, name)


def problem(response: Any) -> tuple[int, dict[str, Any]]:
    """Status and problem body, without the per-request id."""
    body = dict(response.json())
    body.pop("request_id", None)
    return response.status_code, body


class RefuseEverything:
    """A policy engine that denies every operation (to prove the routes ask it)."""

    def __init__(self, real: PolicyEngine) -> None:
        self.real = real

    def authorize(self, *args: Any, **kwargs: Any) -> Decision:
        self.real.authorize(*args, **kwargs)
        return Decision(allowed=False, policy_ids=(), reason="refused by the test")

    def decide(self, *args: Any, **kwargs: Any) -> Decision:
        self.real.decide(*args, **kwargs)
        return Decision(allowed=False, policy_ids=(), reason="refused by the test")


def test_every_consent_route_is_decided_by_the_policy_engine(world: World) -> None:
    """With an engine that refuses everything, the holding organisation's officer can no
    longer list, withdraw, fetch a receipt or FHIR view, or witness a signature."""
    consents = world.services.consents
    real = consents.policy
    assert isinstance(real, PolicyEngine)
    consents.policy = RefuseEverything(real)
    try:
        sid, cid, officer = world.subject_id, world.consent_id, world.auth("officer")
        calls = [
            world.client.get(f"/v1/subjects/{sid}/consents", headers=officer),
            world.client.get(f"/v1/consents/{cid}/receipt", headers=officer),
            world.client.get(f"/v1/consents/{cid}/fhir", headers=officer),
            world.client.post(f"/v1/consents/{cid}/withdraw", json={}, headers=officer),
            world.client.post(
                f"/v1/subjects/{sid}/consents",
                json={
                    "form_id": "rehabilitation",
                    "form_version": 1,
                    "language": "id",
                    "granted_purposes": ["counseling"],
                    "signature": {"method": "pin", "pin": SUBJECT_PIN},
                },
                headers=officer,
            ),
        ]
    finally:
        consents.policy = real
    assert [r.status_code for r in calls] == [403] * 5
    assert all("refused by the test" in r.json()["detail"] for r in calls)


def test_a_refusal_within_the_organisation_names_the_rule(world: World) -> None:
    """A social worker may not record a withdrawal: the 403 says which action no policy allows."""
    response = world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("social_worker")
    )
    assert response.status_code == 403
    assert "consent.withdraw" in response.json()["detail"]


def test_listing_writes_no_expiry_for_a_caller_it_refuses(world: World) -> None:
    """Another organisation's officer listing a subject with an expired consent gets a 404
    and leaves no expiry row and no audit event behind."""
    with world.services.db.session() as session:
        row = session.get(Consent, uuid.UUID(world.consent_id))
        assert row is not None
        row.expires_at = datetime(2020, 1, 1, tzinfo=UTC)
    response = world.client.get(
        f"/v1/subjects/{world.subject_id}/consents", headers=outsider(world)
    )
    assert response.status_code == 404
    with world.services.db.read_session() as session:
        endings = session.exec(
            select(ConsentEnding).where(
                col(ConsentEnding.consent_id) == uuid.UUID(world.consent_id)
            )
        ).all()
        expiries = session.exec(
            select(AuditRow).where(col(AuditRow.action) == EventAction.CONSENT_EXPIRE.value)
        ).all()
    assert endings == []
    assert expiries == []
    # The holding organisation's officer may list: then the expiry is recorded.
    mine = world.client.get(
        f"/v1/subjects/{world.subject_id}/consents", headers=world.auth("officer")
    )
    assert mine.status_code == 200
    assert mine.json()[0]["status"] == "expired"


def test_another_organisations_consent_answers_like_a_missing_one(world: World) -> None:
    """Receipt, FHIR view and withdrawal of another organisation's consent answer exactly
    like an unknown consent id; its subject's list answers exactly like an unknown subject."""
    stranger = outsider(world)
    for path, method in (
        ("/v1/consents/{}/receipt", "get"),
        ("/v1/consents/{}/fhir", "get"),
        ("/v1/consents/{}/withdraw", "post"),
    ):
        send = getattr(world.client, method)
        kwargs: dict[str, Any] = {"headers": stranger}
        if method == "post":
            kwargs["json"] = {}
        real = send(path.format(world.consent_id), **kwargs)
        missing = send(path.format(uuid.uuid4()), **kwargs)
        assert problem(real) == problem(missing)
        assert real.status_code == 404
    real = world.client.get(f"/v1/subjects/{world.subject_id}/consents", headers=stranger)
    missing = world.client.get(f"/v1/subjects/{uuid.uuid4()}/consents", headers=stranger)
    assert problem(real) == problem(missing)
    assert real.status_code == 404


def test_a_recipient_sees_only_the_purposes_naming_it(world: World) -> None:
    """A sentra named by the handover purpose sees that consent with that purpose only:
    no refusals, no other purposes, no other consents, and no receipt (it states them all)."""
    sentra = outsider(world, "social_worker", SENTRA)
    handover = world.post(
        "officer",
        f"/v1/subjects/{world.subject_id}/consents",
        {
            "form_id": "rehabilitation",
            "form_version": 1,
            "language": "id",
            "granted_purposes": ["counseling", "handover_kemensos"],
            "recipients": {"handover_kemensos": [SENTRA]},
            "signature": {"method": "pin", "pin": SUBJECT_PIN},
        },
    )["id"]
    response = world.client.get(f"/v1/subjects/{world.subject_id}/consents", headers=sentra)
    assert response.status_code == 200, response.text
    [seen] = response.json()
    assert seen["id"] == handover
    assert [(p["code"], p["granted"]) for p in seen["purposes"]] == [("handover_kemensos", True)]
    receipt = world.client.get(f"/v1/consents/{handover}/receipt", headers=sentra)
    missing = world.client.get(f"/v1/consents/{uuid.uuid4()}/receipt", headers=sentra)
    assert problem(receipt) == problem(missing)
    # A sentra no consent names sees nothing at all.
    other = outsider(world, "social_worker", "sentra-ciungwanara")
    refused = world.client.get(f"/v1/subjects/{world.subject_id}/consents", headers=other)
    unknown = world.client.get(f"/v1/subjects/{uuid.uuid4()}/consents", headers=other)
    assert problem(refused) == problem(unknown)


def test_consent_handlers_get_the_service_by_injection() -> None:
    """Every consent handler that needs the consent service names it as a parameter."""
    source = inspect.getsource(consent_http)
    assert "app.state" not in source
    assert "from vault.services" not in source
    for handler in consent_http.CONSENT_HANDLERS:
        assert "consents" in inspect.signature(handler.fn).parameters
