"""``vault audit``: verify the chain, sign a checkpoint now, export checkpoints, bring the
alerts up to date."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from pathlib import Path
from typing import Any

from vault.audit.checkpoints import from_jsonl, to_jsonl
from vault.audit.events import AuditEvent, Outcome
from vault.audit.queries import AuditQueries
from vault.audit.verify import VerifyReport
from vault.config import Settings
from vault.errors import InvalidInput, NotFound, SignatureInvalid
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
        help="verify the chain from the last verified head (--full: all of it); exit 1 and "
        "the first bad seq if broken",
        description="Stream the chain in sequence order from the last signed tree head a "
        "verification passed (with --full, from the first event): check each hash link, gapless "
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
    p.add_argument(
        "--full",
        action="store_true",
        help="walk every event (default: from the last signed head a verification passed)",
    )
    p.add_argument(
        "--since-head",
        type=Path,
        metavar="FILE",
        help="a signed tree head kept earlier: prove the newest signed head extends it",
    )
    p.set_defaults(handler=cmd_verify)

    p = actions.add_parser(
        "prove",
        help="print the inclusion proof of one event against the newest signed tree head",
        description="Sign a tree head of the current log if needed, then print (JSON, "
        "as tools/verify_log.py reads it) the event, the signed head and the proof.",
    )
    p.add_argument("seq", type=int, help="the event's sequence number")
    p.set_defaults(handler=cmd_prove)

    p = actions.add_parser(
        "head",
        help="print the newest signed tree head (keep it to check later with --since-head)",
    )
    p.set_defaults(handler=cmd_head)

    p = actions.add_parser(
        "cosign",
        help="attach witnesses' cosignature lines (a file) to the signed heads they sign",
    )
    p.add_argument("lines", type=Path, help="a file of cosignature lines from `vault witness`")
    p.set_defaults(handler=cmd_cosign)

    p = actions.add_parser(
        "resume",
        help="lift the halt after a refused tree head (the next head is checked again)",
    )
    p.set_defaults(handler=cmd_resume)

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

    p = actions.add_parser(
        "alerts",
        help="bring every organisation's alerts up to date with the log now",
        description="Feed the alert rules each organisation's events appended since its "
        "stored cursor. The first run (or the first after a threshold changed) reads the "
        "whole window (VAULT_ALERT_WINDOW_DAYS): run it after deploying or changing a "
        "threshold, or from a timer, so no page load has to.",
    )
    p.set_defaults(handler=cmd_alerts)


def _services(settings: Settings) -> Any:
    from vault.registry import open_services

    return open_services(settings)


def _record(
    services: Any, action: EventAction, details: dict[str, str | int | bool | None]
) -> None:
    # The host's command line acts as nobody in particular: no actor, the operator's role.
    services.audit.append(
        AuditEvent.by(None, action, Outcome.INFO, actor_role="operator", details=details)
    )


def _proofs(services: Any) -> Any:
    from vault.audit.proofs import ProofSource

    keeper = services.audit.heads()
    if keeper is None:
        raise InvalidInput("The vault's signing key cannot sign tree heads.")
    return ProofSource(services.audit.engine, keeper)


def cmd_prove(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        services.audit.checkpoint_now()
        bundle = _proofs(services).inclusion(args.seq)
    finally:
        services.close()
    print(json.dumps(bundle, indent=2))
    return 0


def cmd_head(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        services.audit.checkpoint_now()
        head = _proofs(services).latest()
    finally:
        services.close()
    sys.stdout.write(head.note)
    return 0


def cmd_cosign(args: argparse.Namespace, settings: Settings) -> int:
    from vault.audit.cosign import attach_cosignature, witness_keys

    keys = witness_keys(settings.audit_witness_keys)
    services = _services(settings)
    attached = 0
    try:
        keeper = services.audit.heads()
        if keeper is None:
            raise InvalidInput("The vault's signing key cannot sign tree heads.")
        for line in args.lines.read_text(encoding="utf-8").splitlines():
            if line.strip():
                attached += attach_cosignature(
                    services.audit.engine, line, keys, keeper.note_signer()
                )
    finally:
        services.close()
    print(f"{attached} cosignatures attached")
    return 0 if attached else 1


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        services.audit.resume()
        _record(services, EventAction.AUDIT_HEAD_RESUMED, {})
    finally:
        services.close()
    print("audit log resumed: the next tree head is checked again before it is signed")
    return 0


def _since_head(services: Any, path: Path) -> tuple[bool, str]:
    from vault.transparency import InconsistentHead, NoteMalformed, check_consistent
    from vault.transparency import open_checkpoint as open_head

    proofs = _proofs(services)
    keeper = services.audit.heads()
    signer = keeper.note_signer()
    try:
        old = open_head(path.read_text(encoding="utf-8"), keeper.keys(), signer).checkpoint
    except (NoteMalformed, SignatureInvalid):
        return False, "the kept head is not a head this vault signed"
    services.audit.checkpoint_now()
    latest = proofs.latest()
    try:
        bundle = proofs.consistency(old.size, latest.size)
        proof = [base64.b64decode(p) for p in bundle["consistency"]["proof"]]
        new = open_head(latest.note, keeper.keys(), signer).checkpoint
        if old.size:
            check_consistent(old.head, new.head, proof)
    except (InconsistentHead, NotFound):
        return False, f"the log does not extend the kept head of size {old.size}"
    return True, f"the signed head of size {latest.size} extends the kept head of size {old.size}"


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    if args.since_head is not None:
        services = _services(settings)
        try:
            ok, message = _since_head(services, args.since_head)
        finally:
            services.close()
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    pinned = []
    for path in args.pinned:
        with path.open(encoding="utf-8") as handle:
            pinned.extend(from_jsonl(handle))
    services = _services(settings)
    try:
        keys = services.signer.verification_keys()
        report = _verify_with_progress(services, keys, pinned, quiet=args.quiet, full=args.full)
        _record(
            services,
            EventAction.AUDIT_VERIFY,
            {"ok": report.ok, "events": report.events, "first_bad_seq": report.first_bad_seq},
        )
        heads = _check_heads(services, settings)
    finally:
        services.close()
    if report.ok and heads is not None and not heads.ok:
        print(f"audit log tree heads: {heads.problem}", file=sys.stderr)
        return 1
    if report.ok:
        print(f"audit log intact: {_range(report)}, {report.checkpoints} checkpoints")
        return 0
    print(f"audit log BROKEN at seq {report.first_bad_seq}: {report.problem}", file=sys.stderr)
    print(report.first_bad_seq)
    return 1


def _check_heads(services: Any, settings: Settings) -> Any:
    """The signed heads' chain and freshness (None when the key signs no heads)."""
    from vault.audit.cadence import check_heads
    from vault.audit.cosign import witness_keys
    from vault.db import utcnow

    keeper = services.audit.heads()
    if keeper is None:
        return None
    return check_heads(
        services.audit.engine,
        keeper,
        utcnow(),
        max_age_seconds=settings.audit_head_max_age_seconds,
        max_lag=settings.audit_head_max_lag,
        witnesses=witness_keys(settings.audit_witness_keys),
        quorum=settings.audit_witness_quorum,
        witness_seconds=settings.audit_witness_seconds,
    )


def _range(report: VerifyReport) -> str:
    """Which events a verification walked, in words."""
    walked = f"events {report.first_seq}..{report.events}"
    if report.first_seq > report.events:
        walked = "no new events"
    if report.from_head:
        return f"{walked} checked from the verified head of size {report.from_head}"
    return f"{walked} checked"


def _verify_with_progress(
    services: Any, keys: list[dict[str, str]], pinned: list[Any], *, quiet: bool, full: bool
) -> VerifyReport:
    from vault.audit.incremental import verify_from_head

    def run(progress: Any = None) -> VerifyReport:
        return verify_from_head(
            services.db.engine,
            services.audit.heads(),
            public_keys=keys,
            pinned=pinned,
            full=full,
            progress=progress,
        )

    if quiet:
        return run()
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

        return run(advance)


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


def cmd_alerts(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import column, select, table

    from vault.audit.alert_store import refresh
    from vault.audit.alerts import rules_from
    from vault.db import utcnow

    organizations = table("organizations", column("code"))
    services = _services(settings)
    try:
        with services.db.read_session() as session:
            codes = sorted(str(c) for c in session.execute(select(organizations.c.code)).scalars())
        for code in codes:
            read = refresh(services.db, code, rules_from(settings), utcnow())
            print(f"{code}: {read} new events read")
    finally:
        services.close()
    return 0
