"""``vault consent verify FILE --key JWK`` and ``vault consent lock``.

``verify`` works offline: it needs only the receipt and the vault's public key
(a JWK saved from ``GET /v1/keys/signing``, or the JWKS of
``GET /v1/keys/jwks`` once signing keys have rotated); it touches no database and no network.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vault.config import Settings
from vault.errors import ConfigurationError, SignatureInvalid

EXIT_VALID = 0
EXIT_INVALID = 1


def _read_token(path: Path) -> str:
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{"):  # the JSON body of GET /v1/consents/{id}/receipt
        body = json.loads(text)
        if not isinstance(body, dict) or not isinstance(body.get("receipt"), str):
            raise ValueError("a JSON receipt file must hold {'receipt': '<JWS>'}")
        return str(body["receipt"])
    return text


def _read_keys(path: Path) -> list[dict[str, str]]:
    """One JWK (GET /v1/keys/signing) or a JWKS (GET /v1/keys/jwks)."""
    from vault.crypto.signing import read_key_set

    return read_key_set(json.loads(path.read_text(encoding="utf-8")))


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    from vault.crypto.signing import verify_jws

    try:
        token = _read_token(Path(args.file))
        keys = _read_keys(Path(args.key))
    except (OSError, ValueError) as exc:
        print(f"vault consent verify: cannot read input: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        payload: dict[str, Any] = verify_jws(token, keys)
    except SignatureInvalid:
        print("INVALID: the receipt does not verify against this key.")
        return EXIT_INVALID
    granted = [p["purpose"] for p in payload.get("purposes", []) if p.get("granted")]
    refused = [p["purpose"] for p in payload.get("purposes", []) if not p.get("granted")]
    notice = payload.get("notice", {})
    print("VALID: signed by key", _kid(token))
    print(f"  consent   {payload.get('consent_id')}  receipt {payload.get('receipt_id')}")
    print(f"  subject   {payload.get('pii_principal_id')}")
    print(
        f"  form      {notice.get('form_id')} v{notice.get('form_version')} "
        f"({notice.get('language')}), text sha256 {notice.get('text_sha256')}"
    )
    print(f"  signed    {payload.get('consent_timestamp')}  expires {payload.get('expires_at')}")
    print(f"  granted   {', '.join(granted) or '-'}")
    print(f"  refused   {', '.join(refused) or '-'}")
    return EXIT_VALID


def _kid(token: str) -> str:
    from vault.crypto.signing import b64url_decode

    header = json.loads(b64url_decode(token.split(".")[0]))
    return str(header.get("kid", "(no kid)"))


def cmd_lock(args: argparse.Namespace, settings: Settings) -> int:
    from vault.consent.forms import lock_new_forms
    from vault.consent.service import FORMS_FOLDER

    folder = Path(args.folder) if args.folder else settings.policies_dir / FORMS_FOLDER
    try:
        added = lock_new_forms(folder)
    except ConfigurationError as exc:
        print(f"vault consent lock: {exc.detail}", file=sys.stderr)
        return 1
    for key in added:
        print(f"locked {key}")
    if not added:
        print("nothing new to lock")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    from vault.consent.integrity import check_consents_against_audit
    from vault.db import Database

    db = Database(settings.database_url)
    try:
        mismatches = check_consents_against_audit(db)
    finally:
        db.dispose()
    for mismatch in mismatches:
        print(f"consent {mismatch.consent_id} (audit seq {mismatch.seq}): {mismatch.problem}")
    if mismatches:
        print(f"{len(mismatches)} consent(s) contradict the audit log", file=sys.stderr)
        return 1
    print("consents agree with the audit log")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    consent = sub.add_parser(
        "consent",
        help="verify consent receipts; release new consent form versions",
        description="Consent receipts and forms.",
    )
    actions = consent.add_subparsers(dest="consent_command", required=True, metavar="ACTION")
    verify = actions.add_parser(
        "verify",
        help="verify a consent receipt offline (exit 0 valid, 1 invalid)",
        description="Verify a consent receipt (a compact JWS, or the JSON body of "
        "GET /v1/consents/{id}/receipt) against the vault's public key, saved from "
        "GET /v1/keys/signing. Needs no database and no network.",
    )
    verify.add_argument("file", help="the receipt file")
    verify.add_argument(
        "--key",
        required=True,
        help="the public key file: a JWK (GET /v1/keys/signing) or a JWKS (GET /v1/keys/jwks)",
    )
    verify.set_defaults(handler=cmd_verify)
    lock = actions.add_parser(
        "lock",
        help="record the SHA-256 of new consent form versions in forms.lock",
        description="Add every form file not yet in forms.lock. Existing lines are never "
        "changed: a released form that was edited is refused; make a new version instead.",
    )
    lock.add_argument("--folder", help="the forms folder (default: policies/consent-forms)")
    lock.set_defaults(handler=cmd_lock)
    check = actions.add_parser(
        "check",
        help="find consents whose rows contradict the audit log (exit 1 if any)",
        description="Every withdrawal recorded in the audit log must still end its consent, "
        "and every purpose recorded as refused must still be refused. Finds rows changed "
        "behind the vault's back; run it after `vault audit verify` says the log is intact.",
    )
    check.set_defaults(handler=cmd_check)
