"""Consent rows changed behind the vault's back are found against the audit log."""

from __future__ import annotations

import subprocess
import sys
import uuid

from sqlalchemy import text

from tests.records.test_story import ASSESSMENT
from tests.world import SUBJECT_PIN, World
from vault.consent.integrity import check_consents_against_audit


def db_id(world: World, value: str) -> str:
    return uuid.UUID(value).hex if world.sqlite_path else value


def test_untouched_consents_agree_with_the_audit_log(world: World) -> None:
    """Signing, refusing and withdrawing through the vault leaves nothing to report."""
    world.client.post(
        f"/v1/consents/{world.consent_id}/withdraw", json={}, headers=world.auth("officer")
    )
    assert check_consents_against_audit(world.services.db) == []


def test_a_deleted_withdrawal_is_found(world: World) -> None:
    """Deleting a withdrawal row re-opens reads, and the check names that consent."""
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
    # The vault cannot prevent this (the rows are plain) ...
    assert world.read("counselor", rid, purpose="counseling").json()["fields"] == ASSESSMENT
    # ... but the audit log still holds the withdrawal, and the check finds it.
    found = check_consents_against_audit(world.services.db)
    assert [str(m.consent_id) for m in found] == [world.consent_id]
    assert "withdrawn" in found[0].problem


def test_a_refused_purpose_turned_granted_is_found(world: World) -> None:
    """Flipping a refused purpose to granted is found, naming the purpose."""
    with world.services.db.session() as session:
        session.execute(
            text(
                "UPDATE consent_purposes SET granted = :t "
                "WHERE consent_id = :c AND purpose = 'health_treatment'"
            ),
            {"t": True, "c": db_id(world, world.consent_id)},
        )
    found = check_consents_against_audit(world.services.db)
    assert [m.problem for m in found] == [
        "purpose health_treatment refused in the audit log, but granted in the tables"
    ]


def test_the_command_exits_1_on_a_contradiction(world: World) -> None:
    """`vault consent check` exits 0 when all agree and 1 after tampering."""
    settings = world.services.settings
    env = {
        "VAULT_DATABASE_URL": settings.database_url,
        "VAULT_KEYS_DIR": str(settings.keys_dir),
        "VAULT_TESTING": "1",
        "VAULT_ARGON2_PROFILE": "cheapest",
        "PATH": "/usr/bin:/bin",
    }
    command = [sys.executable, "-m", "vault.cli", "consent", "check"]
    assert subprocess.run(command, env=env, capture_output=True, check=False).returncode == 0
    with world.services.db.session() as session:
        session.execute(
            text("UPDATE consent_purposes SET granted = :t WHERE consent_id = :c"),
            {"t": True, "c": db_id(world, world.consent_id)},
        )
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert world.consent_id in result.stdout
    assert SUBJECT_PIN not in result.stdout + result.stderr
