"""What an import checks of a bundle's content: the consent receipt and the records."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from vault.crypto.signing import parse_instant, verify_jws
from vault.errors import InvalidInput, SignatureInvalid
from vault.handover.bundle import BundleRefused, read_envelope
from vault.records.catalog import Catalog
from vault.records.writing import IDENTITY_RECORD_TYPE, RecordWriter

__all__ = ["HANDOVER_PURPOSE", "Partner", "checked_records", "consent_of", "peek_sender"]

HANDOVER_PURPOSE = "handover_kemensos"


@dataclass(frozen=True)
class Partner:
    organization: str
    signing_keys: list[dict[str, str]]
    encryption_jwk: dict[str, str]
    # The partner's audit log verifier keys: with them, a bundle must prove its export logged.
    log_keys: list[str] = field(default_factory=list)


def checked_records(
    catalog: Catalog, writer: RecordWriter, content: Mapping[str, Any], categories: list[str]
) -> list[Any]:
    """Every record of the bundle, validated against the catalog and within the consent."""
    try:
        raw = content["subject"]["records"]
        if not isinstance(raw, list):
            raise TypeError("records")
        out = []
        for record in raw:
            record_type, fields = record["type"], record["fields"]
            if record_type == IDENTITY_RECORD_TYPE:
                values = writer.validate_identity(fields)
            else:
                values = catalog.validate_fields(record_type, fields)
            for name in values:
                if catalog.category_of(record_type, name).value not in categories:
                    raise BundleRefused(
                        "outside-consent",
                        f"{record_type}.{name} is of a category the consent does not cover",
                    )
            out.append({"type": record_type, "fields": fields, "values": values})
    except (KeyError, TypeError, InvalidInput) as exc:
        if isinstance(exc, BundleRefused):
            raise
        raise BundleRefused("malformed", "the bundle's records do not fit the catalog") from None
    return out


def peek_sender(text: str | bytes) -> str:
    envelope, _, _ = read_envelope(text)
    return envelope["sender"]


def consent_of(
    content: Mapping[str, Any],
    envelope: Mapping[str, str],
    partner: Partner,
    recipient: str,
    now: datetime,
) -> dict[str, Any]:
    """The bundle's consent, checked against its receipt signed by the sender."""
    try:
        consent = content["consent"]
        receipt = verify_jws(consent["receipt"], partner.signing_keys)
    except (KeyError, TypeError, SignatureInvalid):
        raise BundleRefused(
            "no-consent", "the bundle carries no valid signed consent receipt"
        ) from None
    if (
        receipt.get("consent_id") != envelope["consent_id"]
        or consent.get("id") != envelope["consent_id"]
    ):
        raise BundleRefused("no-consent", "the consent receipt is for another consent")
    purpose = next(
        (
            p
            for p in receipt.get("purposes", [])
            if isinstance(p, dict) and p.get("purpose") == HANDOVER_PURPOSE and p.get("granted")
        ),
        None,
    )
    if purpose is None:
        raise BundleRefused("no-consent", f"the receipt grants no {HANDOVER_PURPOSE} purpose")
    if recipient not in purpose.get("recipients", []):
        raise BundleRefused("no-consent", "the consent does not name this organisation")
    granted = set(purpose.get("pii_categories", []))
    categories = consent.get("categories")
    if not isinstance(categories, list) or not set(categories) <= granted:
        raise BundleRefused("outside-consent", "the bundle claims categories the consent lacks")
    try:
        expires = parse_instant(str(receipt.get("expires_at", "")))
    except ValueError:
        raise BundleRefused("no-consent", "the receipt has no expiry") from None
    if expires <= now:
        raise BundleRefused("no-consent", "the consent has expired")
    return {"categories": sorted(categories), "expires_at": expires}
