"""KEK rotation: make a new KEK version current and rewrap every DEK under it.

The job works in batches, one transaction each; every row is updated with
compare-and-set on its old wrapped key, so a row shredded or rotated meanwhile
is left alone. A batch is one keyset-paged select and one compare-and-set
update: on PostgreSQL a single ``UPDATE ... FROM unnest(...)`` over the batch's
arrays (one statement, where an executemany ran one per row: half the job's
time at 300,000 DEKs), on SQLite one executemany (a statement built and run
per row cost ~1 ms a DEK).
Nothing is lost if it stops half way: rows not yet rewrapped still unwrap under
their old version (which stays until retired), and running the job again
finishes it (it resumes when it finds DEKs under a version other than the
current one, rather than making yet another version).

Rows still in the unbound wrap format of old releases (RFC 5649 key wrap
without associated data: 40 bytes) count as pending too, whatever their
version: the job rewraps them in the format bound to subject and KEK version.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, or_, select, text, type_coerce, update
from sqlalchemy.types import NullType

from vault.crypto.keys import LEGACY_WRAP_BYTES, WrappedKey
from vault.crypto.providers.base import KeyProvider
from vault.db import Database, utcnow
from vault.errors import Conflict
from vault.keys.models import SubjectKey
from vault.keys.pins import KEK_CURRENT, KEK_ROTATING, drop_pin, pinned_kek, set_pin

_table = SubjectKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models

DEFAULT_BATCH_SIZE = 1000

# Built once: keyset paging (id > the last row of the previous batch) so a batch
# never rescans the rows already rewrapped, and a compare-and-set update run as
# one executemany per batch. The id and the blobs travel as the driver gives
# them (type_coerce to NullType: no conversion either way): a row's id is only
# read here to be handed back, and converting 100,000 ids to UUID objects and
# back to text on SQLite cost a fifth of the job.
_raw_id = type_coerce(_table.c.id, NullType())
_raw_blob = type_coerce(_table.c.wrapped_dek, NullType())
_IS_LEGACY = func.length(_table.c.wrapped_dek) == LEGACY_WRAP_BYTES
_IS_PENDING = or_(_table.c.kek_version != bindparam("target"), _IS_LEGACY)
_PENDING = (
    select(_raw_id, _table.c.kek_version, _raw_blob, _table.c.subject_id)
    .where(_IS_PENDING)
    .where(_raw_id > bindparam("after", type_=NullType()))
    .order_by(_table.c.id)
    .limit(bindparam("limit"))
)
_FIRST_PENDING = (
    select(_raw_id, _table.c.kek_version, _raw_blob, _table.c.subject_id)
    .where(_IS_PENDING)
    .order_by(_table.c.id)
    .limit(bindparam("limit"))
)
_REWRAP = (
    update(_table)
    .where(_raw_id == bindparam("row_id", type_=NullType()))
    .where(_table.c.kek_version == bindparam("old_version"))
    .where(_raw_blob == bindparam("old_blob", type_=NullType()))
    .values(
        kek_version=bindparam("new_version"),
        wrapped_dek=type_coerce(bindparam("new_blob"), NullType()),
        updated_at=bindparam("stamp"),
    )
)

# PostgreSQL: the same compare-and-set, every row of the batch in one statement.
_REWRAP_ALL = text(
    "UPDATE subject_keys AS k SET kek_version = :new_version, wrapped_dek = u.new_blob, "
    "updated_at = :stamp FROM unnest(CAST(:row_ids AS uuid[]), CAST(:old_versions AS integer[]), "
    "CAST(:old_blobs AS bytea[]), CAST(:new_blobs AS bytea[])) "
    "AS u(id, old_version, old_blob, new_blob) "
    "WHERE k.id = u.id AND k.kek_version = u.old_version AND k.wrapped_dek = u.old_blob"
)


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


def legacy_count(db: Database) -> int:
    """How many wrapped DEKs are still in the unbound format of old releases."""
    with db.read_session() as session:
        return int(session.execute(select(func.count()).where(_IS_LEGACY)).scalar_one())


def pending_count(db: Database, target: int) -> int:
    with db.read_session() as session:
        return int(
            session.execute(
                select(func.count()).where(_IS_PENDING), {"target": target}
            ).scalar_one()
        )


def current_kek(db: Database, provider: KeyProvider) -> int:
    """The pinned KEK version (the provider's own idea only before anything was pinned)."""
    with db.read_session() as session:
        pinned = pinned_kek(session)
    return provider.current_version() if pinned is None else pinned


def plan_rotation(db: Database, provider: KeyProvider) -> RotationPlan:
    """Resume if DEKs remain under an older version (or unbound); else make a new version
    current and pin it in the store."""
    current = current_kek(db, provider)
    stale = pending_count(db, current)
    if stale:
        return RotationPlan(current, new_version=False, pending=stale)
    # Marked first, so a crash between making the version and pinning it is told
    # apart from a version planted in the provider (see wiring.check_pins).
    with db.session() as session:
        set_pin(session, KEK_ROTATING, str(current))
    version = provider.new_version()
    with db.session() as session:
        set_pin(session, KEK_CURRENT, str(version))
        drop_pin(session, KEK_ROTATING)
    return RotationPlan(version, new_version=True, pending=pending_count(db, version))


def rewrap_batch(
    db: Database,
    provider: KeyProvider,
    target: int,
    batch_size: int,
    after: Any = None,
) -> tuple[int, int, Any]:
    """Rewrap up to ``batch_size`` DEKs not under ``target`` whose row id is above ``after``.

    Returns (rewrapped, skipped, the last row id seen, as the driver gives it: the
    next batch's ``after``; None when there was nothing left). A row changed since
    it was read (shredded, or its subject's DEK rotated) fails the compare-and-set
    and counts as skipped.
    """
    with db.session() as session:
        params = {"target": target, "after": after, "limit": batch_size}
        rows = session.execute(_FIRST_PENDING if after is None else _PENDING, params).all()
        if not rows:
            return 0, 0, None
        pinned = pinned_kek(session)
        if pinned is not None and pinned != target:
            raise Conflict(
                f"KEK version {pinned} became current during the rotation to {target}; "
                "run `vault keys rotate` again"
            )
        stamp = utcnow()
        blobs = [
            provider.wrap(
                provider.unwrap(WrappedKey(int(version), bytes(blob)), subject_id),
                subject_id,
                target,
            ).blob
            for _, version, blob, subject_id in rows
        ]
        if db.is_sqlite:
            # One executemany; the driver reports the rows matched over all parameter sets.
            result = session.execute(
                _REWRAP,
                [
                    {
                        "row_id": row_id,
                        "old_version": version,
                        "old_blob": blob,
                        "new_version": target,
                        "new_blob": new_blob,
                        "stamp": stamp,
                    }
                    for (row_id, version, blob, _), new_blob in zip(rows, blobs, strict=True)
                ],
            )
        else:
            result = session.execute(
                _REWRAP_ALL,
                {
                    "new_version": target,
                    "stamp": stamp,
                    "row_ids": [row[0] for row in rows],
                    "old_versions": [int(row[1]) for row in rows],
                    "old_blobs": [bytes(row[2]) for row in rows],
                    "new_blobs": blobs,
                },
            )
        rewrapped = int(result.rowcount)  # type: ignore[attr-defined]  # a CursorResult for DML
    return rewrapped, len(rows) - rewrapped, rows[-1][0]


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
    after: Any = None
    while True:
        rewrapped, skipped, after = rewrap_batch(
            db, provider, plan.target_version, batch_size, after
        )
        if after is None:
            break
        done += rewrapped
        skipped_total += skipped
        if on_batch is not None:
            on_batch(done)
    return RotationResult(plan.target_version, plan.new_version, done, skipped_total)


def retire_kek(db: Database, provider: KeyProvider, version: int) -> None:
    """Destroy KEK ``version`` if, and only while, no wrapped DEK uses it.

    The check and the destruction happen under one lock that every insert or
    update of ``subject_keys`` conflicts with (SQLite: the write transaction's
    lock, taken at BEGIN IMMEDIATE; PostgreSQL: SHARE ROW EXCLUSIVE on the
    table), so no row can land under the version between the two. A writer that
    wrapped under the version before and inserts after finds it gone and
    rewraps (``SubjectKeys.create``).
    """
    with db.session() as session:
        if not db.is_sqlite:
            session.execute(text("LOCK TABLE subject_keys IN SHARE ROW EXCLUSIVE MODE"))
        pinned = pinned_kek(session)
        if version == (provider.current_version() if pinned is None else pinned):
            raise Conflict(f"KEK version {version} is current; run `vault keys rotate` first")
        in_use = int(
            session.execute(
                select(func.count()).where(_table.c.kek_version == version)
            ).scalar_one()
        )
        if in_use:
            raise Conflict(
                f"KEK version {version} still wraps {in_use} data keys; "
                "run `vault keys rotate` to finish rewrapping them first"
            )
        provider.retire(version)
