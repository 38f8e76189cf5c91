"""KEK rotation: make a new KEK version current and rewrap every DEK under it.

The job works in batches, one transaction each; every row is updated with
compare-and-set on its old wrapped key, so a row shredded or rotated meanwhile
is left alone. Nothing is lost if it stops half way: rows not yet rewrapped
still unwrap under their old version (which stays until retired), and running
the job again finishes it (it resumes when it finds DEKs under a version other
than the current one, rather than making yet another version).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update

from vault.crypto.keys import WrappedKey
from vault.crypto.providers.base import KeyProvider
from vault.db import Database
from vault.errors import Conflict
from vault.keys.models import SubjectKey

_table = SubjectKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class RotationPlan:
    target_version: int
    new_version: bool  # False: finishing an interrupted rotation
    pending: int


@dataclass(frozen=True)
class RotationResult:
    target_version: int
    new_version: bool
    rewrapped: int
    skipped: int


def counts_by_version(db: Database) -> dict[int, int]:
    with db.read_session() as session:
        rows = session.execute(
            select(_table.c.kek_version, func.count()).group_by(_table.c.kek_version)
        ).all()
    return {int(version): int(count) for version, count in rows}


def plan_rotation(db: Database, provider: KeyProvider) -> RotationPlan:
    """Resume if DEKs remain under an older version; else make a new version current."""
    current = provider.current_version()
    stale = sum(n for v, n in counts_by_version(db).items() if v != current)
    if stale:
        return RotationPlan(current, new_version=False, pending=stale)
    version = provider.new_version()
    pending = sum(n for v, n in counts_by_version(db).items() if v != version)
    return RotationPlan(version, new_version=True, pending=pending)


def rewrap_batch(
    db: Database, provider: KeyProvider, target: int, batch_size: int
) -> tuple[int, int]:
    """Rewrap up to ``batch_size`` DEKs not under ``target``; return (rewrapped, skipped)."""
    rewrapped = skipped = 0
    with db.session() as session:
        rows = session.execute(
            select(_table.c.id, _table.c.kek_version, _table.c.wrapped_dek)
            .where(_table.c.kek_version != target)
            .order_by(_table.c.id)
            .limit(batch_size)
        ).all()
        for row_id, version, blob in rows:
            dek = provider.unwrap(WrappedKey(int(version), bytes(blob)))
            wrapped = provider.wrap(dek)
            if wrapped.kek_version != target:
                raise Conflict(
                    f"KEK version {wrapped.kek_version} became current during the rotation to "
                    f"{target}; run `vault keys rotate` again"
                )
            result = session.execute(
                update(_table)
                .where(_table.c.id == row_id)
                .where(_table.c.kek_version == version)
                .where(_table.c.wrapped_dek == blob)
                .values(kek_version=target, wrapped_dek=wrapped.blob)
            )
            if result.rowcount == 1:  # type: ignore[attr-defined]  # a CursorResult for DML
                rewrapped += 1
            else:
                skipped += 1
    return rewrapped, skipped


def rotate_keks(
    db: Database,
    provider: KeyProvider,
    *,
    plan: RotationPlan | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
) -> RotationResult:
    """Run (or finish) a rotation; ``on_batch(rewrapped_so_far)`` is called after each batch."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    plan = plan or plan_rotation(db, provider)
    done = skipped_total = 0
    while True:
        rewrapped, skipped = rewrap_batch(db, provider, plan.target_version, batch_size)
        if rewrapped == 0 and skipped == 0:
            break
        done += rewrapped
        skipped_total += skipped
        if on_batch is not None:
            on_batch(done)
    return RotationResult(plan.target_version, plan.new_version, done, skipped_total)
