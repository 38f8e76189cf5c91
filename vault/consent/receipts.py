"""Consent receipts: a JSON document signed by the vault (compact JWS, EdDSA / Ed25519).

The fields follow the Kantara Consent Receipt 1.1 and ISO/IEC TS 27560:2023
(consent record information structure) where they apply; names are snake_case
and the README (section "Receipts") maps each to its source. A receipt is built once, when
the consent is signed, and stored as signed: it states what was agreed then,
whatever happens to the consent afterwards (its current status is in the
listing and the FHIR export).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vault.consent.forms import ConsentForm
from vault.consent.views import PurposeDecision

RECEIPT_SCHEMA = "vault-consent-receipt/1"
KANTARA_VERSION = "KI-CR-v1.1.0"
JURISDICTION = "ID"
LEGAL_BASIS = "UU No. 27/2022 Pasal 20 ayat (2) huruf a (persetujuan / consent)"


@dataclass(frozen=True)
class ReceiptFacts:
    receipt_id: uuid.UUID
    consent_id: uuid.UUID
    subject_id: uuid.UUID
    controller: str
    form: ConsentForm
    language: str
    text_sha256: str
    purposes: tuple[PurposeDecision, ...]
    holding_org: str
    signed_at: datetime
    expires_at: datetime
    witness_id: uuid.UUID
    witness_org: str
    method: str
    signed_by: str
    # The guardian's enrolment and who checked their identity document (the guardian's
    # identity itself is sealed under the subject's data key, never in a receipt).
    guardian_id: uuid.UUID | None
    guardian_checked_by: uuid.UUID | None
    assent: bool | None


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def build_receipt(facts: ReceiptFacts) -> dict[str, Any]:
    """The receipt payload (to be signed as a JWS)."""
    form = facts.form
    purposes = []
    for decision in facts.purposes:
        form_purpose = form.purpose(decision.code)
        third_parties = [org for org in decision.recipients if org != facts.holding_org]
        purposes.append(
            {
                "purpose": decision.code,
                "purpose_title": form_purpose.title[facts.language],
                "dpv_purpose": form_purpose.dpv,
                "consent_type": "explicit",
                "granted": decision.granted,
                "pii_categories": [c.value for c in decision.categories],
                "dpv_pii_categories": sorted(
                    {
                        form.dpv_categories[c]
                        for c in decision.categories
                        if c in form.dpv_categories
                    }
                ),
                "recipients": list(decision.recipients),
                "third_party_disclosure": bool(third_parties),
                "third_party_names": third_parties,
                "termination": _iso(facts.expires_at),
            }
        )
    sensitive = sorted(
        {c.value for d in facts.purposes if d.granted for c in d.categories}
        & {"health_sensitive", "psychological"}
    )
    guardian: Mapping[str, str] | None = None
    if facts.guardian_id is not None:
        guardian = {
            "enrolment_id": str(facts.guardian_id),
            "identity_checked_by": str(facts.guardian_checked_by),
            "credential": "guardian_pin",
        }
    return {
        "schema_version": RECEIPT_SCHEMA,
        "kantara_version": KANTARA_VERSION,
        "receipt_id": str(facts.receipt_id),
        "consent_id": str(facts.consent_id),
        "jurisdiction": JURISDICTION,
        "legal_basis": LEGAL_BASIS,
        "consent_timestamp": _iso(facts.signed_at),
        "collection_method": f"{facts.method} at kiosk, witnessed by staff",
        "pii_principal_id": str(facts.subject_id),
        "pii_controllers": [{"pii_controller": facts.controller}],
        "notice": {
            "form_id": form.id,
            "form_version": form.version,
            "language": facts.language,
            "text_sha256": facts.text_sha256,
            "form_file_sha256": form.file_sha256,
        },
        "purposes": purposes,
        "sensitive": bool(sensitive),
        "spi_categories": sensitive,
        "expires_at": _iso(facts.expires_at),
        "witness": {"id": str(facts.witness_id), "organization": facts.witness_org},
        "signed_by": facts.signed_by,
        "guardian": guardian,
        "assent": facts.assent,
    }
