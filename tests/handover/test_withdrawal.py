"""Withdrawal travels: the prison signs a notice, the sentra verifies it and stops reading."""

from __future__ import annotations

import uuid

import pytest

from tests.handover.handover_support import SENTRA, Pair
from vault.crypto.signing import b64url, b64url_decode
from vault.errors import Forbidden, InvalidInput, NotFound


def _handed_over(pair: Pair) -> tuple[str, uuid.UUID]:
    consent_id = pair.consent_to_handover()
    result = pair.import_for_worker(pair.export())
    return consent_id, uuid.UUID(result["subject_id"])


def test_withdrawal_at_the_prison_stops_reads_at_the_sentra(pair: Pair) -> None:
    """Before withdrawal no notice is due and the sentra reads; after it, the prison signs a
    notice, the sentra verifies and records it, and its very next read is refused."""
    consent_id, subject_id = _handed_over(pair)
    assert pair.world.services.handover_notices.issue(SENTRA) == []
    pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
    pair.world.post("officer", f"/v1/consents/{consent_id}/withdraw", {"reason": "changed mind"})
    notices = pair.world.services.handover_notices.issue(SENTRA)
    assert len(notices) == 1
    received = pair.sentra.handover_notices.receive(pair.sentra_officer, notices[0])
    assert received["consent_id"] == consent_id
    with pytest.raises(Forbidden):
        pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
    # Received twice, it changes nothing and is refused nowhere.
    pair.sentra.handover_notices.receive(pair.sentra_officer, notices[0])


def test_a_forged_notice_stops_nothing(pair: Pair) -> None:
    """A notice signed by the sentra itself under the prison's name, or with a changed
    consent id, is refused; reads go on."""
    consent_id, subject_id = _handed_over(pair)
    forged = pair.sentra.signer.sign_jws(
        {
            "type": "vault-handover-withdrawal/1",
            "sender": "rutan-jakpus",
            "consent_id": consent_id,
            "recipient": SENTRA,
            "iat": "2026-01-01T00:00:00Z",
        }
    )
    with pytest.raises(InvalidInput):
        pair.sentra.handover_notices.receive(pair.sentra_officer, forged)
    pair.world.post("officer", f"/v1/consents/{consent_id}/withdraw", {})
    genuine = pair.world.services.handover_notices.issue(SENTRA)[0]
    header, body, signature = genuine.split(".")
    changed = b64url_decode(body).replace(consent_id.encode(), str(uuid.uuid4()).encode())
    with pytest.raises((InvalidInput, NotFound)):
        pair.sentra.handover_notices.receive(
            pair.sentra_officer, f"{header}.{b64url(changed)}.{signature}"
        )
    pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)


def test_a_bundle_of_a_withdrawn_consent_is_not_imported(pair: Pair) -> None:
    """Once the sentra holds the withdrawal, a second bundle under that consent is refused."""
    from vault.handover.bundle import BundleRefused

    consent_id = pair.consent_to_handover()
    first, second = pair.export(), pair.export()
    pair.sentra.handover.import_bundle(pair.sentra_officer, first)
    pair.world.post("officer", f"/v1/consents/{consent_id}/withdraw", {})
    pair.sentra.handover_notices.receive(
        pair.sentra_officer, pair.world.services.handover_notices.issue(SENTRA)[0]
    )
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, second)
    assert refused.value.reason in ("withdrawn", "replayed")


def test_reads_stop_when_the_consent_expires_even_without_a_notice(pair: Pair) -> None:
    """The sentra keeps the consent's expiry from its signed receipt: past it, reads are
    refused though no notice came."""
    from datetime import timedelta

    _, subject_id = _handed_over(pair)
    now = pair.sentra.clock()
    pair.sentra.handover_notices.clock = lambda: now + timedelta(days=365 * 30)
    with pytest.raises(Forbidden):
        pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
