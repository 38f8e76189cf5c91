"""``vault keys rotate-seals``, ``retire-seals``, ``rebuild-index``, ``retire-index`` and the
part of ``vault keys status`` about the keys derived from the root."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vault.config import Settings
from vault.errors import InvalidInput
from vault.keys.derived_rotation import (
    DEFAULT_BATCH_SIZE,
    Outcome,
    Plan,
    index_counts_by_version,
    plan_index_rebuild,
    plan_seal_rotation,
    rebuild_index,
    reseal_all,
    retire_version,
    seal_counts_by_version,
)
from vault.keys.versions import INDEX, SEAL, VersionState, state_of
from vault.vocabulary import EventAction

Services = Callable[[Settings], Any]
Audit = Callable[[Any, str, dict[str, str | int | bool | None]], None]


def register(actions: argparse._SubParsersAction[Any]) -> None:
    p = actions.add_parser(
        "rotate-seals",
        help="make a new column-seal key version current and reseal every sealed column",
        description="Create a new column-seal key version, make it current, and reseal "
        "every sealed column of every table under it in batches (TOTP seeds, account and "
        "session seals, break-glass justifications, consent receipts). "
        "If a previous run was interrupted, finish it instead. Resumable.",
    )
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    p.set_defaults(handler=cmd_rotate_seals)

    p = actions.add_parser(
        "retire-seals",
        help="retire a column-seal key version (refused while any value uses it)",
        description="Mark column-seal key version N retired: a seal naming it opens nothing.",
    )
    p.add_argument("version", type=int)
    p.set_defaults(handler=cmd_retire_seals)

    p = actions.add_parser(
        "rebuild-index",
        help="make a new blind-index key version current and recompute every digest",
        description="Create a new blind-index key version, make it current, and recompute "
        "every live subject's NIK and register-number digests under it from the identity "
        "record (decrypted under the subject's data key). Searches look under both versions "
        "until it is done; then the old version is retired. Resumable.",
    )
    p.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    p.set_defaults(handler=cmd_rebuild_index)


def _progress(label: str, total: int, run: Callable[[Callable[[int], None]], Any]) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    ) as progress:
        task = progress.add_task(label, total=total)
        return run(lambda done: progress.update(task, completed=done))


@dataclass(frozen=True)
class DerivedJob:
    """One resumable batch job over a key derived from the root (seals or blind index)."""

    key: str  # the ``key`` of its audit events
    noun: str
    starting: str
    resuming: str
    units: str
    label: str  # of the progress bar
    done: str
    skipped: str
    plan: Callable[[Any], Plan]
    run: Callable[[Any, Plan, int, Callable[[int], None]], Outcome]


SEAL_ROTATION = DerivedJob(
    key="column-seal",
    noun="seal",
    starting="rotating to new",
    resuming="resuming rotation to",
    units="values to reseal",
    label="resealing",
    done="done: {done} values resealed under seal key version {version}",
    skipped="values could not be opened (tampered or retired): left as is",
    plan=plan_seal_rotation,
    run=lambda services, plan, size, on_batch: reseal_all(
        services.db, services.sealer, plan=plan, batch_size=size, on_batch=on_batch
    ),
)

INDEX_REBUILD = DerivedJob(
    key="blind-index",
    noun="index",
    starting="rebuilding under new",
    resuming="resuming rebuild under",
    units="subjects",
    label="reindexing",
    done="done: {done} subjects indexed under version {version}",
    skipped="subjects could not be reindexed: run it again",
    plan=plan_index_rebuild,
    run=lambda services, plan, size, on_batch: rebuild_index(
        services.db,
        services.blind_index,
        services.records.identity_fields,
        plan=plan,
        batch_size=size,
        on_batch=on_batch,
    ),
)


def _run_job(
    args: argparse.Namespace,
    settings: Settings,
    services_of: Services,
    audit: Audit,
    job: DerivedJob,
) -> int:
    """Plan, announce, run with a progress bar, and audit the start and the end."""
    if args.batch_size < 1:
        raise InvalidInput("--batch-size must be at least 1")
    services = services_of(settings)
    try:
        plan = job.plan(services.db)
        verb = job.starting if plan.new_version else job.resuming
        print(f"{verb} {job.noun} key version {plan.target_version}: {plan.pending} {job.units}")
        audit(
            services,
            EventAction.KEY_ROTATION_START,
            {"key": job.key, "to_version": plan.target_version, "pending": plan.pending},
        )
        result: Outcome = _progress(
            job.label,
            plan.pending,
            lambda on_batch: job.run(services, plan, args.batch_size, on_batch),
        )
        audit(
            services,
            EventAction.KEY_ROTATION_DONE,
            {"key": job.key, "to_version": result.target_version, "done": result.done},
        )
        print(job.done.format(done=result.done, version=result.target_version))
        if result.skipped:
            print(f"{result.skipped} {job.skipped}")
    finally:
        services.close()
    return 0


def cmd_rotate_seals(
    args: argparse.Namespace, settings: Settings, services_of: Services, audit: Audit
) -> int:
    return _run_job(args, settings, services_of, audit, SEAL_ROTATION)


def cmd_retire_seals(
    args: argparse.Namespace, settings: Settings, services_of: Services, audit: Audit
) -> int:
    services = services_of(settings)
    try:
        audit(services, EventAction.KEY_RETIRE, {"key": "column-seal", "version": args.version})
        retire_version(services.db, SEAL, args.version)
        print(f"seal key version {args.version} retired")
    finally:
        services.close()
    return 0


def cmd_rebuild_index(
    args: argparse.Namespace, settings: Settings, services_of: Services, audit: Audit
) -> int:
    return _run_job(args, settings, services_of, audit, INDEX_REBUILD)


def _age(created: datetime | None, now: datetime) -> str:
    return "-" if created is None else f"{(now - created).days}d"


def _show(name: str, state: VersionState, counts: dict[int, int], now: datetime) -> None:
    print(f"{name}:")
    print(f"{'version':>8}  {'state':<8} {'age':>6}  {'values':>8}")
    for info in state.versions:
        print(
            f"{info.version:>8}  {info.state:<8} {_age(info.created_at, now):>6}  "
            f"{counts.get(info.version, 0):>8}"
        )
    old = sum(n for v, n in counts.items() if v != state.current)
    if old:
        print(f"  {old} values still under older versions")


def print_status(db: Any) -> None:
    """The seal and index key versions, their age and how many values use each."""
    now = datetime.now(UTC)
    _show(
        "column-seal keys (vault/column-seal/v<N>)",
        state_of(db, SEAL),
        seal_counts_by_version(db),
        now,
    )
    _show(
        "blind-index keys (vault/blind-index/v<N>/<field>; values: digests of live subjects)",
        state_of(db, INDEX),
        index_counts_by_version(db),
        now,
    )
