"""A partner trusted without log keys cannot prove its exports were logged: its bundles
are refused unless the operator names it, in the configuration, as a partner whose
bundles are taken without that proof, and every such import says so in the audit log."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from tests.handover.handover_support import PRISON, Pair
from vault.audit.canonical import decode_remembered
from vault.audit.models import AuditRow
from vault.handover.bundle import BundleRefused
from vault.handover.models import HandoverPartner
from vault.vocabulary import EventAction


def _trust_without_log_keys(pair: Pair) -> None:
    prison = pair.world.services
    pair.sentra.handover.trust_partner(
        PRISON, prison.signer.jwks(), prison.handover.key.public_jwk(), []
    )


def _refused(pair: Pair, bundle: str) -> str:
    before = pair.stored_counts()
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    assert pair.stored_counts() == before
    return refused.value.reason


def test_a_partner_trusted_without_log_keys_is_refused(pair: Pair) -> None:
    """Trusted without log keys, the prison's bundle (its proof unchecked) is refused as
    unproven, and nothing of it is stored."""
    _trust_without_log_keys(pair)
    pair.consent_to_handover()
    assert _refused(pair, pair.export()) == "unproven"


def test_log_keys_cleared_in_the_database_do_not_waive_the_proof(pair: Pair) -> None:
    """A database writer who empties the partner's log keys (to slip in a bundle whose export
    was never logged) gets the bundle refused, not accepted unchecked: the partner's row no
    longer matches its seal."""
    with pair.sentra.db.session() as session:
        session.execute(
            update(HandoverPartner)
            .where(HandoverPartner.organization == PRISON)  # type: ignore[arg-type]  # a column
            .values(log_keys="[]")
        )
    pair.consent_to_handover()
    assert _refused(pair, pair.export()) == "partner-unsealed"


def test_a_partner_the_operator_names_is_imported_and_the_waiver_audited(pair: Pair) -> None:
    """Named in VAULT_HANDOVER_UNPROVEN_PARTNERS, the partner's bundle is imported, and the
    import's audit event says that no proof of its export was checked."""
    _trust_without_log_keys(pair)
    pair.sentra.handover.unproven_partners = frozenset({PRISON})
    pair.consent_to_handover()
    result = pair.import_for_worker(pair.export())
    assert result["subject_id"]
    with pair.sentra.db.read_session() as session:
        rows = session.exec(
            select(AuditRow.canonical)
            .where(col(AuditRow.action) == EventAction.HANDOVER_IMPORT.value)
            .order_by(col(AuditRow.seq))
        ).all()
        details = [decode_remembered(bytes(canonical)).get("details") for canonical in rows]
    assert {"sender": PRISON, "export_proof": "waived"}.items() <= details[-1].items()
