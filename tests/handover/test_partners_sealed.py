"""The database writer of THREATS.md against trusted partners: a partner's keys swapped in
``handover_partners`` (a signing key of their own, an encryption key of their own, a row
copied back from before the operator replaced its keys, a row written without a seal) are
refused, not used; the operator's ``trust`` seals the row afresh."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.handover.handover_support import PRISON, SENTRA, Pair, trust
from vault.audit.canonical import decode_remembered
from vault.audit.models import AuditRow
from vault.cli import main
from vault.crypto.hpke import HandoverKey
from vault.crypto.signing import Signer
from vault.handover.bundle import BundleRefused
from vault.handover.models import HandoverPartner
from vault.handover.partners import PartnerUnsealed
from vault.handover.proof import ExportProver
from vault.services import Services
from vault.vocabulary import EventAction

PARTNERS: Any = HandoverPartner


def _write_partner(holder: Services, partner: str, **values: Any) -> None:
    """Change a partner row straight in the database, as a database writer could."""
    with holder.db.session() as session:
        session.execute(update(PARTNERS).where(PARTNERS.organization == partner).values(**values))


def _row(holder: Services, organization: str) -> dict[str, Any]:
    """Every column of a partner row, as a database writer copies it."""
    with holder.db.read_session() as session:
        query = select(PARTNERS.__table__).where(PARTNERS.organization == organization)
        return dict(session.execute(query).mappings().one())


def _forged_notice(forger: Signer, consent_id: str) -> str:
    """A withdrawal notice under the prison's name, signed by someone else's key."""
    return forger.sign_jws(
        {
            "type": "vault-handover-withdrawal/1",
            "sender": PRISON,
            "consent_id": consent_id,
            "recipient": SENTRA,
            "iat": "2026-01-01T00:00:00Z",
        }
    )


def _handed_over(pair: Pair) -> tuple[str, uuid.UUID]:
    consent_id = pair.consent_to_handover()
    result = pair.import_for_worker(pair.export())
    return consent_id, uuid.UUID(result["subject_id"])


def test_a_signing_key_swapped_in_the_database_forges_no_withdrawal(
    pair: Pair, caplog: pytest.LogCaptureFixture
) -> None:
    """The sentra's row for the prison given the writer's own signing key: a withdrawal
    notice they sign is refused, nothing is recorded, reads go on, and the refusal is
    logged CRITICAL without any key material."""
    consent_id, subject_id = _handed_over(pair)
    forger = Signer(secrets.token_bytes(32))
    _write_partner(pair.sentra, PRISON, signing_jwks=json.dumps([forger.public_jwk()]))
    forged = _forged_notice(forger, consent_id)
    with (
        caplog.at_level(logging.CRITICAL, logger="vault.handover"),
        pytest.raises(PartnerUnsealed) as refused,
    ):
        pair.sentra.handover_notices.receive(pair.sentra_officer, forged)
    assert refused.value.status == 409
    assert not pair.sentra.handover.withdrawn(uuid.UUID(consent_id))
    assert any(PRISON in r.getMessage() for r in caplog.records)
    assert all(forger.public_jwk()["x"] not in r.getMessage() for r in caplog.records)
    assert pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)["records"]


def test_a_bundle_from_a_partner_whose_keys_were_changed_is_refused(pair: Pair) -> None:
    """The prison's log keys emptied at the sentra (or its signing key swapped): its bundle
    is refused as ``partner-unsealed``, audited, and nothing of it is stored."""
    pair.consent_to_handover()
    bundle = pair.export()
    for change in ({"log_keys": "[]"}, {"signing_jwks": json.dumps([])}):
        trust(pair.sentra, PRISON, pair.world.services)
        _write_partner(pair.sentra, PRISON, **change)
        before = pair.stored_counts()
        with pytest.raises(BundleRefused) as refused:
            pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
        assert refused.value.reason == "partner-unsealed"
        assert pair.stored_counts() == before
    with pair.sentra.db.read_session() as session:
        last = session.execute(
            select(AuditRow.canonical)
            .where(AuditRow.action == EventAction.HANDOVER_IMPORT.value)  # type: ignore[arg-type]  # a column
            .order_by(AuditRow.seq.desc())  # type: ignore[attr-defined]  # a column
        ).first()
    assert last is not None
    assert decode_remembered(bytes(last[0]))["outcome"] == "deny"


def test_an_encryption_key_swapped_in_the_database_receives_no_bundle(pair: Pair) -> None:
    """The prison's row for the sentra given the writer's own encryption key: the export
    over HTTP is refused (problem+json, 409) and audited; no bundle leaves for that key."""
    pair.consent_to_handover()
    stolen = HandoverKey(secrets.token_bytes(32))
    _write_partner(pair.world.services, SENTRA, encryption_jwk=json.dumps(stolen.public_jwk()))
    world = pair.world
    response = world.client.post(
        f"/v1/subjects/{world.subject_id}/handover",
        json={"recipient": SENTRA},
        headers=world.auth("officer"),
    )
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["type"].endswith("handover-partner-unsealed"), response.text
    with world.services.db.read_session() as session:
        exports = session.execute(
            select(AuditRow.canonical).where(
                AuditRow.action == EventAction.HANDOVER_EXPORT.value  # type: ignore[arg-type]  # a column
            )
        ).all()
    outcomes = [decode_remembered(bytes(row[0]))["outcome"] for row in exports]
    assert outcomes == ["deny"]


def test_a_partner_row_without_its_own_seal_is_refused(pair: Pair) -> None:
    """A partner row written by hand with no seal, or with the seal of another partner's
    row (the same keys trusted under another name), is not trusted: nothing is exported."""
    pair.consent_to_handover()
    prison = pair.world.services
    prison.handover.trust_partner(
        "sentra-lain", pair.sentra.signer.jwks(), pair.sentra.handover.key.public_jwk()
    )
    borrowed = _row(prison, "sentra-lain")["trust_seal"]
    assert borrowed
    for seal in (None, borrowed):
        _write_partner(prison, SENTRA, trust_seal=seal)
        with pytest.raises(PartnerUnsealed):
            pair.export()


def test_a_row_copied_back_from_before_the_operator_replaced_its_keys_is_refused(
    pair: Pair,
) -> None:
    """The operator once trusted a key that has since leaked, and replaced it: the old row
    written back (its seal genuine) is refused, so a notice signed by the leaked key stops
    nothing."""
    consent_id, _ = _handed_over(pair)
    leaked = Signer(secrets.token_bytes(32))
    prison = pair.world.services
    pair.sentra.handover.trust_partner(
        PRISON, {"keys": [leaked.public_jwk()]}, prison.handover.key.public_jwk()
    )
    old = _row(pair.sentra, PRISON)
    trust(pair.sentra, PRISON, prison)
    _write_partner(pair.sentra, PRISON, **{k: v for k, v in old.items() if k != "id"})
    with pytest.raises(PartnerUnsealed):
        pair.sentra.handover_notices.receive(
            pair.sentra_officer, _forged_notice(leaked, consent_id)
        )
    assert not pair.sentra.handover.withdrawn(uuid.UUID(consent_id))


def test_the_operator_trusting_the_partner_again_reseals_it(pair: Pair) -> None:
    """After a refusal, the operator's ``trust`` with the partner's published keys seals the
    row afresh: the bundle is imported."""
    pair.consent_to_handover()
    bundle = pair.export()
    _write_partner(pair.sentra, PRISON, trust_seal=None)
    with pytest.raises(BundleRefused):
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    trust(pair.sentra, PRISON, pair.world.services)
    assert pair.import_for_worker(bundle)["sender"] == PRISON


def test_the_command_line_names_the_refusal_and_the_operator_trust_mends_it(
    pair: Pair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`vault handover import` of a bundle from a partner whose keys were changed in the
    database exits 1 naming ``partner-unsealed``; `vault handover trust` with the partner's
    published file seals it again, and the same bundle is imported."""
    pair.consent_to_handover()
    bundle = tmp_path / "bundle.json"
    bundle.write_text(pair.export(), encoding="utf-8")
    prison = pair.world.services
    keys = tmp_path / "prison.keys.json"
    keys.write_text(
        json.dumps(
            {
                "jwks": prison.signer.jwks(),
                "encryption": prison.handover.key.public_jwk(),
                "log_keys": ExportProver(prison.audit).log_keys(),
            }
        ),
        encoding="utf-8",
    )
    _write_partner(pair.sentra, PRISON, log_keys="[]")
    settings = pair.sentra.settings
    monkeypatch.setenv("VAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAULT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")
    assert main(["handover", "import", str(bundle), "--as", "s_officer"]) == 1
    assert "partner-unsealed" in capsys.readouterr().err
    assert main(["handover", "trust", "--organization", PRISON, "--keys", str(keys)]) == 0
    assert main(["handover", "import", str(bundle), "--as", "s_officer"]) == 0
    assert PRISON in capsys.readouterr().out
