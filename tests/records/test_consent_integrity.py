"""Consent rows changed behind the vault's back: reads refuse them at once (the
audit log does not attest them), and `vault consent check` names them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from tests.records.story import ASSESSMENT
from tests.support import insert_unsigned_consent
from tests.world import World
from vault.audit.scope import subject_org
from vault.consent.integrity import check_consents_against_audit


def db_id(world: World, value: str) -> str:
    return uuid.UUID(value).hex if world.sqlite_path else value


def test_untouched_consents_agree_with_the_audit_log(world: World) -> None:
    """Signing, refusing and withdrawing through the vault leaves nothing to report."""
    world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    assert check_consents_against_audit(world.services.db) == []


def test_a_deleted_withdrawal_does_not_reopen_reads_and_is_found(world: World) -> None:
    """Deleting a withdrawal row does not re-open reads, and the check names that consent."""
    rid = world.create_record("counselor", "psychological_assessment", ASSESSMENT)
    response = world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    assert response.status_code == 200
    with world.services.db.session() as session:
        session.execute(
            text("DELETE FROM consent_endings WHERE consent_id = :c"),
            {"c": db_id(world, world.consent_id)},
        )
    # The rows say active again, but the audit log holds the withdrawal: refused.
    refused = world.read("counselor", rid, purpose="counseling")
    assert refused.status_code == 200
    assert refused.json()["fields"] == {}
    assert set(refused.json()["withheld"]) == set(ASSESSMENT)
    assert ASSESSMENT["summary"] not in refused.text
    # And the check names it.
    found = check_consents_against_audit(world.services.db)
    assert [str(m.consent_id) for m in found] == [world.consent_id]
    assert "withdrawn" in found[0].problem
    # Scoped to the organisation holding the subject (the dashboard's check), and to no other.
    holder = subject_org(world.services.db, uuid.UUID(world.subject_id))
    assert holder is not None
    scoped = check_consents_against_audit(world.services.db, holder)
    assert [str(m.consent_id) for m in scoped] == [world.consent_id]
    assert check_consents_against_audit(world.services.db, "lapas-elsewhere") == []


def _granted_purposes(world: World) -> set[str]:
    """What decisions see of the subject's consents now."""
    grants = world.services.consents.active_consents(uuid.UUID(world.subject_id), datetime.now(UTC))
    return {grant.purpose for grant in grants}


def test_a_refused_purpose_turned_granted_is_not_used_and_is_found(world: World) -> None:
    """Flipping a refused purpose to granted gives decisions nothing; the check names it."""
    assert _granted_purposes(world) == {"counseling", "social_reintegration"}
    with world.services.db.session() as session:
        session.execute(
            text(
                "UPDATE consent_purposes SET granted = :t "
                "WHERE consent_id = :c AND purpose = 'health_treatment'"
            ),
            {"t": True, "c": db_id(world, world.consent_id)},
        )
    assert _granted_purposes(world) == {"counseling", "social_reintegration"}
    found = check_consents_against_audit(world.services.db)
    assert [m.problem for m in found] == [
        "purpose health_treatment refused in the audit log, but granted in the tables"
    ]


def test_a_recipient_or_expiry_changed_in_the_tables_is_not_used(world: World) -> None:
    """Adding an organisation to a purpose, or pushing the expiry back, voids the grant."""
    with world.services.db.session() as session:
        session.execute(
            text(
                "UPDATE consent_purposes SET recipients = 'rutan-jakpus,bnn-sentra' "
                "WHERE consent_id = :c AND purpose = 'counseling'"
            ),
            {"c": db_id(world, world.consent_id)},
        )
    assert _granted_purposes(world) == {"social_reintegration"}
    with world.services.db.session() as session:
        session.execute(
            text("UPDATE consents SET expires_at = :later WHERE id = :c"),
            {"later": datetime(2099, 1, 1, tzinfo=UTC), "c": db_id(world, world.consent_id)},
        )
    assert _granted_purposes(world) == set()
    # The check names both, as not attested by the signing's events.
    problems = sorted(m.problem for m in check_consents_against_audit(world.services.db))
    assert problems == [
        "not attested: its expiry differs from the one signed",
        "not attested: its expiry differs from the one signed",
    ]


def test_an_inserted_consent_is_not_used_and_is_found(world: World) -> None:
    """A consent row nobody signed (written straight into the tables) grants nothing."""
    compliance = world.auth("compliance")
    assert world.client.get("/v1/audit/consent-check", headers=compliance).json() == {
        "ok": True,
        "mismatches": [],
    }
    forged = insert_unsigned_consent(
        world.services.db, uuid.UUID(world.subject_id), uuid.UUID(world.user_ids["officer"])
    )
    assert _granted_purposes(world) == {"counseling", "social_reintegration"}
    found = check_consents_against_audit(world.services.db)
    assert [(str(m.consent_id), m.problem) for m in found] == [
        (str(forged), "not attested: no signing of it is in the audit log")
    ]
    holder = subject_org(world.services.db, uuid.UUID(world.subject_id))
    assert check_consents_against_audit(world.services.db, holder) == found
    assert check_consents_against_audit(world.services.db, "lapas-elsewhere") == []
    # The same answer over HTTP, for compliance officers only.
    checked = world.client.get("/v1/audit/consent-check", headers=compliance)
    assert checked.status_code == 200
    assert checked.json()["ok"] is False
    assert [m["consent_id"] for m in checked.json()["mismatches"]] == [str(forged)]
    refused = world.client.get("/v1/audit/consent-check", headers=world.auth("counselor"))
    assert refused.status_code == 403
