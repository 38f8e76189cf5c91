"""A consent as an HL7 FHIR R5 ``Consent`` resource.

Layout: ``decision`` is ``deny`` (nothing is allowed by default) and each
granted purpose is one ``provision`` (an exception to that base: a permit) with
its purpose codes (the vault's and the W3C DPV term), its data categories as
``code`` and its recipient organisations as ``actor`` (role IRCP, information
recipient). Refused purposes are listed in an extension, so a reader sees
every choice the person made. ``status`` is ``active`` while the consent is,
``inactive`` once withdrawn, superseded or expired (the exact reason is in the
second ``category`` coding). ``sourceAttachment.hash`` is the SHA-256 of the
exact text shown, in the language shown.

``fhir.resources`` validates the structure but not code values, so the codes
used here are checked against the R5 value sets before the resource is returned.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from fhir.resources.consent import Consent as FhirConsent

from vault.consent.forms import ConsentForm
from vault.consent.receipts import LEGAL_BASIS
from vault.consent.views import ConsentRecord, ConsentStatus

VAULT_SYSTEM = "https://vault.example/fhir"
PURPOSE_SYSTEM = f"{VAULT_SYSTEM}/CodeSystem/consent-purpose"
CATEGORY_SYSTEM = f"{VAULT_SYSTEM}/CodeSystem/data-category"
STATUS_SYSTEM = f"{VAULT_SYSTEM}/CodeSystem/consent-lifecycle"
ORG_SYSTEM = f"{VAULT_SYSTEM}/NamingSystem/organization"
GUARDIAN_SYSTEM = f"{VAULT_SYSTEM}/NamingSystem/guardian-enrolment"
REFUSED_EXTENSION = f"{VAULT_SYSTEM}/StructureDefinition/refused-purpose"
DPV_SYSTEM = "https://w3id.org/dpv"
PARTICIPATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DPV_PD_SYSTEM = "https://w3id.org/dpv/pd"

# R5 value sets (hl7.org/fhir/R5/valueset-consent-state-codes.html, consent-provision-type).
CONSENT_STATES = frozenset(
    {"draft", "active", "inactive", "not-done", "entered-in-error", "unknown"}
)
DECISIONS = frozenset({"deny", "permit"})


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _dpv_coding(term: str | None) -> list[dict[str, str]]:
    if not term or ":" not in term:
        return []
    prefix, name = term.split(":", 1)
    system = {"dpv": DPV_SYSTEM, "pd": DPV_PD_SYSTEM}.get(prefix)
    return [{"system": system, "code": name}] if system else []


def _org(code: str) -> dict[str, Any]:
    return {"identifier": {"system": ORG_SYSTEM, "value": code}, "display": code}


def consent_resource(
    record: ConsentRecord,
    form: ConsentForm,
    controller: str,
    now: datetime,
) -> dict[str, Any]:
    row = record.row
    status = record.status(now)
    fhir_status = "active" if status is ConsentStatus.ACTIVE else "inactive"
    decision = "deny"
    period = {"start": _iso(row.signed_at), "end": _iso(record.ended_at(now) or row.expires_at)}
    patient = {"reference": f"Patient/{row.subject_id}"}
    if row.guardian_id is not None:
        # The guardian by their enrolment only: their identity stays sealed under the
        # subject's data key.
        guardian = {
            "type": "RelatedPerson",
            "identifier": {"system": GUARDIAN_SYSTEM, "value": str(row.guardian_id)},
            "display": "guardian",
        }
        grantor: list[dict[str, Any]] = [guardian]
        verified_with: dict[str, Any] = guardian
    else:
        grantor = [patient]
        verified_with = patient
    provisions = []
    refused = []
    for purpose in record.purposes:
        form_purpose = form.purpose(purpose.code)
        coding = {
            "system": PURPOSE_SYSTEM,
            "code": purpose.code,
            "display": form_purpose.title["en"],
        }
        if not purpose.granted:
            refused.append({"url": REFUSED_EXTENSION, "valueCoding": coding})
            continue
        provisions.append(
            {
                "period": period,
                "purpose": [coding, *_dpv_coding(form_purpose.dpv)],
                "actor": [
                    {
                        "role": {
                            "coding": [
                                {
                                    "system": PARTICIPATION_SYSTEM,
                                    "code": "IRCP",
                                    "display": "information recipient",
                                }
                            ]
                        },
                        "reference": _org(org),
                    }
                    for org in purpose.recipients
                ],
                "action": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/consentaction",
                                "code": "access",
                            }
                        ]
                    }
                ],
                "code": [
                    {
                        "coding": [
                            {"system": CATEGORY_SYSTEM, "code": category.value},
                            *_dpv_coding(form.dpv_categories.get(category)),
                        ]
                    }
                    for category in purpose.categories
                ],
            }
        )
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(row.id),
        "identifier": [{"system": "urn:ietf:rfc:3986", "value": f"urn:uuid:{row.receipt_id}"}],
        "status": fhir_status,
        "category": [
            {
                "coding": [
                    {"system": "http://loinc.org", "code": "59284-0", "display": "Consent Document"}
                ]
            },
            {"coding": [{"system": STATUS_SYSTEM, "code": status.value}]},
        ],
        "subject": patient,
        "date": row.signed_at.date().isoformat(),
        "period": period,
        "grantor": grantor,
        "grantee": [_org(org) for org in sorted(record.organizations())],
        "controller": [{"display": controller}],
        "sourceAttachment": [
            {
                "contentType": "text/plain; charset=utf-8",
                "language": row.language,
                "hash": base64.b64encode(bytes.fromhex(row.text_sha256)).decode("ascii"),
                "title": f"Consent form {row.form_id} version {row.form_version}",
            }
        ],
        "regulatoryBasis": [{"text": LEGAL_BASIS}],
        "verification": [
            {
                "verified": True,
                "verificationType": {"text": f"{row.method} entered at kiosk, witnessed by staff"},
                "verifiedBy": {"reference": f"Practitioner/{row.witness_id}"},
                "verifiedWith": verified_with,
                "verificationDate": [_iso(row.signed_at)],
            }
        ],
        "decision": decision,
        "provision": provisions,
    }
    if refused:
        resource["extension"] = refused
    if not provisions:
        del resource["provision"]
    if not resource["grantee"]:
        del resource["grantee"]
    return validated(resource)


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource, after fhir.resources checked its structure and we checked its codes."""
    if resource.get("status") not in CONSENT_STATES:
        raise ValueError("Consent.status is not an R5 consent-state code")
    if resource.get("decision") not in DECISIONS:
        raise ValueError("Consent.decision is not deny or permit")
    model = FhirConsent.model_validate(resource)
    dumped: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    dumped.setdefault("resourceType", "Consent")
    return dumped
