"""``vault keys``: status, rotate and retire key-encryption key versions."""

from __future__ import annotations

import argparse
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from vault.audit.events import AuditEvent, Outcome
from vault.config import Settings
from vault.errors import Conflict, InvalidInput
from vault.keys.cli_derived import (
    cmd_rebuild_index,
    cmd_retire_seals,
    cmd_rotate_seals,
    print_status,
)
from vault.keys.cli_derived import register as derived_register
from vault.keys.rotation import (
    DEFAULT_BATCH_SIZE,
    counts_by_version,
    current_kek,
    legacy_count,
    plan_rotation,
    rotate_keks,
)
from vault.vocabulary import EventAction


def register(sub: argparse._SubParsersAction[Any]) -> None:
    keys = sub.add_parser(
        "keys",
        help="key-encryption key versions: status, rotate, retire",
        description="Manage the key-encryption keys (KEKs) that wrap the subjects' data keys.",
    )
    actions = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")

    p = actions.add_parser(
        "status",
        help="KEK versions, which is current, and how many data keys each wraps",
    )
    p.set_defaults(handler=cmd_status)

    p = actions.add_parser(
        "rotate",
        help="make a new KEK version current and rewrap every data key (resumable)",
        description="Create a new KEK version, make it current, and rewrap every subject's "
        "data key under it in batches. If a previous rotation was interrupted, finish it "
        "instead of creating another version. Reads and writes keep working meanwhile.",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"data keys rewrapped per transaction (default {DEFAULT_BATCH_SIZE})",
    )
    p.set_defaults(handler=cmd_rotate)

    p = actions.add_parser(
        "retire",
        help="destroy an old KEK version (refused while any data key uses it)",
        description="Destroy KEK version N for good. Refused while it is current or any "
        "data key is still wrapped under it. Backups whose data keys were wrapped under N "
        "become unreadable, which is what completes the crypto-shredding of erased subjects.",
    )
    p.add_argument("version", type=int, help="the KEK version to retire")
    p.set_defaults(handler=cmd_retire)

    p = actions.add_parser(
        "rotate-subject",
        help="give one subject a new data key and re-encrypt their fields under it",
        description="Replace one subject's data key (DEK) and re-encrypt every field of every "
        "record of the subject under the new key, in one transaction. For a key that may "
        "have been exposed; KEK rotation (`vault keys rotate`) does not change DEKs.",
    )
    p.add_argument("subject_id", type=uuid.UUID, help="the subject's id")
    p.set_defaults(handler=cmd_rotate_subject)

    p = actions.add_parser(
        "rotate-signing",
        help="make a new Ed25519 signing key current (the old one keeps verifying)",
        description="Create a new signing key version and make it current. The previous "
        "current key becomes 'active': it signs nothing new and still verifies everything "
        "it signed. Retire it with `vault keys retire-signing KID` once every process "
        "signs with the new key.",
    )
    p.set_defaults(handler=cmd_rotate_signing)

    p = actions.add_parser(
        "retire-signing",
        help="retire a signing key: it verifies only what it signed before now",
        description="Mark signing key KID retired as of now: receipts and checkpoints dated "
        "up to now still verify against it; anything dated later does not. It signs nothing.",
    )
    p.add_argument("kid", help="the key id (RFC 7638 thumbprint) shown by `vault keys status`")
    p.set_defaults(handler=cmd_retire_signing)

    p = actions.add_parser(
        "revoke-signing",
        help="revoke a signing key: it verifies nothing any more (for a compromised key)",
        description="Revoke signing key KID: it is dropped from the published JWKS and "
        "verifies nothing, whatever its date; its private key is destroyed where the "
        "provider holds it. Rotate first if it is the current key.",
    )
    p.add_argument("kid", help="the key id (RFC 7638 thumbprint)")
    p.set_defaults(handler=cmd_revoke_signing)

    derived_register(actions)
    for name, handler in (
        ("rotate-seals", cmd_rotate_seals),
        ("retire-seals", cmd_retire_seals),
        ("rebuild-index", cmd_rebuild_index),
    ):
        actions.choices[name].set_defaults(
            handler=lambda args, settings, _h=handler: _h(args, settings, _services, _audit)
        )


def _services(settings: Settings) -> Any:
    from vault.registry import open_services

    return open_services(settings)


def _audit(services: Any, action: EventAction, details: dict[str, str | int | bool | None]) -> None:
    audit = getattr(services, "audit", None)
    if audit is not None:
        audit.append(
            AuditEvent(
                action=action.value, outcome=Outcome.INFO, actor_role="operator", details=details
            )
        )


def _age(created: datetime, now: datetime) -> str:
    days = (now - created).days
    return f"{days}d"


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from vault.audit.log import CHECKPOINTS

    services = _services(settings)
    try:
        provider = services.keys
        now = datetime.now(UTC)
        current = current_kek(services.db, provider)
        counts = counts_by_version(services.db)
        held = provider.versions()
        print(f"key provider: {provider.name} ({provider.fingerprint()})")
        print("key-encryption keys (KEK):")
        print(f"{'version':>8}  {'state':<10} {'data keys':>10}")
        for version in sorted(set(held) | set(counts)):
            state = "current" if version == current else "old"
            shown = state if version in held else "MISSING"
            print(f"{version:>8}  {shown:<10} {counts.get(version, 0):>10}")
        stale = sum(n for v, n in counts.items() if v != current)
        legacy = legacy_count(services.db)
        if stale:
            print(f"{stale} data keys are not under the current version: run `vault keys rotate`")
        if legacy:
            print(
                f"{legacy} data keys are in the unbound wrap format of older releases: "
                "run `vault keys rotate`"
            )
        with services.db.read_session() as session:
            by_kid = dict(
                session.execute(
                    select(CHECKPOINTS.c.key_id, func.count()).group_by(CHECKPOINTS.c.key_id)
                ).all()
            )
        print("signing keys (Ed25519):")
        print(f"{'version':>8}  {'state':<8} {'age':>6}  {'checkpoints':>11}  kid")
        for record in provider.signing_registry().records:
            extra = ""
            if record.retired_at is not None:
                extra = f"  retired {record.retired_at.isoformat()}"
            print(
                f"{record.version:>8}  {record.state!s:<8} {_age(record.created_at, now):>6}  "
                f"{by_kid.get(record.kid, 0):>11}  {record.kid}{extra}"
            )
        derivation = getattr(provider, "derivation", "hmac-sha256")
        print(f"derived from the provider's root ({derivation}):")
        print_status(services.db)
    finally:
        services.close()
    return 0


def cmd_rotate(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    if args.batch_size < 1:
        raise InvalidInput("--batch-size must be at least 1")
    services = _services(settings)
    try:
        plan = plan_rotation(services.db, services.keys)
        verb = "rotating to new" if plan.new_version else "resuming rotation to"
        print(f"{verb} KEK version {plan.target_version}: {plan.pending} data keys to rewrap")
        _audit(
            services,
            EventAction.KEY_ROTATION_START,
            {
                "to_version": plan.target_version,
                "pending": plan.pending,
                "resumed": not plan.new_version,
            },
        )
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task("rewrapping", total=plan.pending)
            result = rotate_keks(
                services.db,
                services.keys,
                plan=plan,
                batch_size=args.batch_size,
                on_batch=lambda done: progress.update(task, completed=done),
            )
        _audit(
            services,
            EventAction.KEY_ROTATION_DONE,
            {"to_version": result.target_version, "rewrapped": result.rewrapped},
        )
        print(f"done: {result.rewrapped} data keys under KEK version {result.target_version}")
    finally:
        services.close()
    return 0


def cmd_rotate_subject(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        fields = services.records.rotate_subject_key(args.subject_id)
        print(f"subject {args.subject_id}: new data key; {fields} fields re-encrypted")
    finally:
        services.close()
    return 0


def cmd_retire(args: argparse.Namespace, settings: Settings) -> int:
    from vault.keys.rotation import retire_kek

    services = _services(settings)
    try:
        version: int = args.version
        provider = services.keys
        if version == current_kek(services.db, provider):
            raise Conflict(f"KEK version {version} is current; run `vault keys rotate` first")
        if version not in provider.versions():
            raise InvalidInput(f"KEK version {version} does not exist (or is already retired)")
        # Audit first: if the event cannot be recorded, the key is not destroyed.
        _audit(services, EventAction.KEY_RETIRE, {"version": version})
        retire_kek(services.db, provider, version)
        print(f"KEK version {version} retired")
    finally:
        services.close()
    return 0


def _signing_change(args: argparse.Namespace, settings: Settings, action: str) -> int:
    services = _services(settings)
    try:
        now = datetime.now(UTC)
        provider = services.keys
        registry = provider.signing_registry()
        record = registry.find(args.kid)
        event = EventAction(f"key.signing.{action}")  # retire or revoke: named in EventAction
        _audit(services, event, {"kid": record.kid, "version": record.version})
        if action == "retire":
            provider.set_signing_registry(lambda r: r.retired(args.kid, now))
        else:
            provider.set_signing_registry(lambda r: r.revoked(args.kid, now))
        print(f"signing key {record.kid} (version {record.version}) {action}d")
    finally:
        services.close()
    return 0


def cmd_rotate_signing(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        old = services.keys.signing_registry().current
        _audit(services, EventAction.KEY_SIGNING_ROTATE, {"from_kid": old.kid})
        registry = services.keys.new_signing_key(datetime.now(UTC))
        new = registry.current
        print(f"signing key version {new.version} is current: kid {new.kid}")
        print(f"the previous key {old.kid} is active: retire it with `vault keys retire-signing`")
    finally:
        services.close()
    return 0


def cmd_retire_signing(args: argparse.Namespace, settings: Settings) -> int:
    return _signing_change(args, settings, "retire")


def cmd_revoke_signing(args: argparse.Namespace, settings: Settings) -> int:
    return _signing_change(args, settings, "revoke")
