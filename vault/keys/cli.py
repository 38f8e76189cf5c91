"""``vault keys``: status, rotate and retire key-encryption key versions."""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from vault.audit.events import AuditEvent, Outcome
from vault.config import Settings
from vault.errors import Conflict, InvalidInput
from vault.keys.rotation import DEFAULT_BATCH_SIZE, counts_by_version, plan_rotation, rotate_keks


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


def _services(settings: Settings) -> Any:
    from vault.services import build_services

    return build_services(settings)


def _audit(services: Any, action: str, details: dict[str, str | int | bool | None]) -> None:
    audit = getattr(services, "audit", None)
    if audit is not None:
        audit.append(
            AuditEvent(action=action, outcome=Outcome.INFO, actor_role="operator", details=details)
        )


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        provider = services.keys
        current = provider.current_version()
        counts = counts_by_version(services.db)
        print(f"key provider: {provider.name}")
        print(f"{'version':>8}  {'state':<10} {'data keys':>10}")
        for version in sorted(set(provider.versions()) | set(counts)):
            if version not in provider.versions():
                state = "MISSING"
            else:
                state = "current" if version == current else "old"
            print(f"{version:>8}  {state:<10} {counts.get(version, 0):>10}")
        stale = sum(n for v, n in counts.items() if v != current)
        if stale:
            print(f"{stale} data keys are not under the current version: run `vault keys rotate`")
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
            "key.rotation.start",
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
            "key.rotation.done",
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
    services = _services(settings)
    try:
        version: int = args.version
        provider = services.keys
        if version == provider.current_version():
            raise Conflict(f"KEK version {version} is current; run `vault keys rotate` first")
        if version not in provider.versions():
            raise InvalidInput(f"KEK version {version} does not exist (or is already retired)")
        in_use = counts_by_version(services.db).get(version, 0)
        if in_use:
            raise Conflict(
                f"KEK version {version} still wraps {in_use} data keys; "
                "run `vault keys rotate` to finish rewrapping them first"
            )
        # Audit first: if the event cannot be recorded, the key is not destroyed.
        _audit(services, "key.retire", {"version": version})
        provider.retire(version)
        print(f"KEK version {version} retired")
    finally:
        services.close()
    return 0
