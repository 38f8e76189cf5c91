"""``vault audit``: verify the chain, sign a checkpoint now, export checkpoints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from vault.audit.checkpoints import from_jsonl, to_jsonl
from vault.audit.events import AuditEvent, Outcome
from vault.audit.queries import AuditQueries
from vault.audit.verify import VerifyReport, verify_chain
from vault.config import Settings
from vault.vocabulary import EventAction


def register(sub: argparse._SubParsersAction[Any]) -> None:
    audit = sub.add_parser(
        "audit",
        help="the tamper-evident audit log: verify, checkpoint, export checkpoints",
        description="Verify the audit log's hash chain and signed checkpoints, sign a "
        "checkpoint of the current head, or export the checkpoints as JSON Lines so a "
        "copy can be kept outside the vault.",
    )
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    p = actions.add_parser(
        "verify",
        help="verify the whole chain and every checkpoint (exit 1 and the first bad seq if not)",
        description="Stream the chain in sequence order: check each hash link, gapless "
        "sequence numbers, and every checkpoint's signature and head hash. Checkpoints "
        "pinned elsewhere (exported earlier) can be given with --pinned; they also catch "
        "a rewrite or truncation of events after the vault's own newest checkpoint.",
    )
    p.add_argument(
        "--pinned",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="a JSON Lines file of checkpoints exported earlier (repeatable)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_verify)

    p = actions.add_parser(
        "checkpoint",
        help="sign a checkpoint of the current head now",
        description="Sign (seq, head hash, time) of the newest event now, e.g. before "
        "exporting checkpoints to pin them elsewhere.",
    )
    p.set_defaults(handler=cmd_checkpoint)

    p = actions.add_parser(
        "checkpoints",
        help="export every signed checkpoint as JSON Lines",
        description="Write every signed checkpoint, one JSON object a line, to stdout or "
        "--output. Keep the file outside the vault; pass it to verify --pinned later.",
    )
    p.add_argument("--output", type=Path, help="file to write (default: stdout)")
    p.set_defaults(handler=cmd_checkpoints)


def _services(settings: Settings) -> Any:
    from vault.services import build_services

    return build_services(settings)


def _record(
    services: Any, action: EventAction, details: dict[str, str | int | bool | None]
) -> None:
    # The host's command line acts as nobody in particular: no actor, the operator's role.
    services.audit.append(
        AuditEvent.by(None, action, Outcome.INFO, actor_role="operator", details=details)
    )


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    pinned = []
    for path in args.pinned:
        with path.open(encoding="utf-8") as handle:
            pinned.extend(from_jsonl(handle))
    services = _services(settings)
    try:
        keys = services.signer.verification_keys()
        report = _verify_with_progress(services, keys, pinned, quiet=args.quiet)
        _record(
            services,
            EventAction.AUDIT_VERIFY,
            {"ok": report.ok, "events": report.events, "first_bad_seq": report.first_bad_seq},
        )
    finally:
        services.close()
    if report.ok:
        print(f"audit log intact: {report.events} events, {report.checkpoints} checkpoints")
        return 0
    print(f"audit log BROKEN at seq {report.first_bad_seq}: {report.problem}", file=sys.stderr)
    print(report.first_bad_seq)
    return 1


def _verify_with_progress(
    services: Any, keys: list[dict[str, str]], pinned: list[Any], *, quiet: bool
) -> VerifyReport:
    if quiet:
        return verify_chain(services.db.engine, public_keys=keys, pinned=pinned)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task("verifying", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return verify_chain(services.db.engine, public_keys=keys, pinned=pinned, progress=advance)


def cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        checkpoint = services.audit.checkpoint_now()
    finally:
        services.close()
    if checkpoint is None:
        print("nothing to checkpoint: the newest event is already covered")
    else:
        print(f"checkpoint signed at seq {checkpoint.seq} ({checkpoint.head_hash.hex()})")
    return 0


def cmd_checkpoints(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        checkpoints = AuditQueries(services.db).checkpoints()
    finally:
        services.close()
    lines = "".join(to_jsonl(checkpoints))
    if args.output is None:
        sys.stdout.write(lines)
    else:
        args.output.write_text(lines, encoding="utf-8")
        print(f"{len(checkpoints)} checkpoints written to {args.output}", file=sys.stderr)
    return 0
