"""``vault handover``: publish this vault's keys, trust a partner, import a bundle, and
carry withdrawal notices (as files) from the sender to the recipient."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vault.config import Settings
from vault.errors import VaultError
from vault.handover.proof import ExportProver
from vault.registry import open_services
from vault.vocabulary import Principal, Role

__all__ = ["register"]

EXIT_OK = 0
EXIT_REFUSED = 1


def _principal(services: Any, username: str) -> Principal:
    """The account the command acts as (it must be an officer of the importing organisation)."""
    user = services.identity.user_by_name(username)
    return Principal(id=user.id, role=Role(user.role), organization=user.organization)


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    services = open_services(settings)
    try:
        print(
            json.dumps(
                {
                    "jwks": services.signer.jwks(),
                    "encryption": services.handover.key.public_jwk(),
                    "log_keys": ExportProver(services.audit).log_keys(),
                },
                indent=2,
            )
        )
    finally:
        services.close()
    return EXIT_OK


def cmd_trust(args: argparse.Namespace, settings: Settings) -> int:
    try:
        keys = json.loads(Path(args.keys).read_text(encoding="utf-8"))
        jwks, encryption = keys["jwks"], keys["encryption"]
        log_keys = keys.get("log_keys", [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"vault handover trust: cannot read {args.keys}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    services = open_services(settings)
    try:
        services.handover.trust_partner(args.organization, jwks, encryption, log_keys)
    except VaultError as exc:
        print(f"vault handover trust: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        services.close()
    print(f"trusted {args.organization}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        print(f"vault handover import: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    services = open_services(settings)
    try:
        result = services.handover.import_bundle(_principal(services, args.as_user), text)
    except VaultError as exc:
        print(f"REFUSED: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    finally:
        services.close()
    print(json.dumps(result, indent=2))
    return EXIT_OK


def cmd_notices(args: argparse.Namespace, settings: Settings) -> int:
    services = open_services(settings)
    try:
        notices = services.handover_notices.issue(args.recipient)
    finally:
        services.close()
    for notice in notices:
        print(notice)
    return EXIT_OK


def cmd_receive(args: argparse.Namespace, settings: Settings) -> int:
    try:
        lines = Path(args.file).read_text(encoding="utf-8").split()
    except (OSError, UnicodeError) as exc:
        print(f"vault handover receive: cannot read {args.file}: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    services = open_services(settings)
    status = EXIT_OK
    try:
        for token in lines:
            try:
                result = services.handover_notices.receive(None, token)
                print(f"withdrawn: consent {result['consent_id']}")
            except VaultError as exc:
                print(f"REFUSED: {exc}", file=sys.stderr)
                status = EXIT_REFUSED
    finally:
        services.close()
    return status


def register(sub: argparse._SubParsersAction[Any]) -> None:
    handover = sub.add_parser(
        "handover",
        help="hand subjects over between vaults under their consent",
        description="Handover bundles between vaults (docs/handover.md).",
    )
    actions = handover.add_subparsers(dest="handover_command", required=True, metavar="ACTION")
    keys = actions.add_parser("keys", help="print this vault's public keys for its partners")
    keys.set_defaults(handler=cmd_keys)
    trust = actions.add_parser("trust", help="trust a partner vault's published keys")
    trust.add_argument("--organization", required=True, help="the partner organisation's code")
    trust.add_argument("--keys", required=True, help="the file `vault handover keys` printed there")
    trust.set_defaults(handler=cmd_trust)
    imp = actions.add_parser("import", help="verify and import a bundle (exit 1 if refused)")
    imp.add_argument("file", help="the bundle file")
    imp.add_argument("--as", dest="as_user", required=True, help="the importing officer's username")
    imp.set_defaults(handler=cmd_import)
    notices = actions.add_parser(
        "notices", help="print a signed withdrawal notice per withdrawn handover, one a line"
    )
    notices.add_argument("--recipient", help="only notices for this organisation")
    notices.set_defaults(handler=cmd_notices)
    receive = actions.add_parser("receive", help="verify and record withdrawal notices (a file)")
    receive.add_argument("file", help="notices, one a line, as `vault handover notices` prints")
    receive.set_defaults(handler=cmd_receive)
