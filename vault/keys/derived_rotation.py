"""Rotating the keys derived from the root: resealing sealed columns, rebuilding the index.

``vault keys rotate-seals``: a new seal key version becomes current, then every
sealed column of every table is opened under its version and sealed again under
the new one, in batches of one transaction each. ``vault keys rebuild-index``:
a new index key version becomes current, then every live subject's NIK and
register-number digests are made again under it from the identity record
(decrypted under the subject's data key).

Resumable, like KEK rotation: a row is pending while its value names another
version than the target, so the pending rows are the checkpoint. A crash loses
at most the batch in flight (rolled back); running the command again finds the
target still current with rows pending and finishes it instead of making
another version. Every update is a compare-and-set on the value read, so a row
written meanwhile is left alone (and caught by the last pass, run after every
process has had time to learn the new version).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import TableClause, and_, bindparam, column, func, or_, select, table, update
from sqlalchemy.types import NullType

from vault.crypto.blind_index import BlindIndex
from vault.crypto.columns import ColumnSealer, seal_version
from vault.db import Database
from vault.errors import Conflict, DecryptionFailed
from vault.keys.versions import (
    DEFAULT_TTL,
    INDEX,
    RETIRED,
    SEAL,
    make_current,
    mark_retired,
    read_state,
    state_of,
)

DEFAULT_BATCH_SIZE = 500


@dataclass(frozen=True)
class SealedColumn:
    table: str
    stored: str  # the column holding the seal
    bound: str  # the column name the seal is bound to


# Every sealed column of the store. A new one must be added here, or its seals stop
# opening once the version that sealed them is retired (`retire-seals` refuses while
# any listed column still uses it, and the seal tests check this list is complete).
SEALED_COLUMNS = (
    SealedColumn("users", "totp_secret", "totp_secret"),
    SealedColumn("users", "authz_seal", "authz"),
    SealedColumn("auth_tokens", "binding_seal", "binding"),
    SealedColumn("web_sessions", "binding_seal", "binding"),
    SealedColumn("break_glass_grants", "justification", "justification"),
    SealedColumn("consents", "receipt_jws", "receipt_jws"),
)

_SUBJECTS = table(
    "subjects",
    column("id", NullType()),
    column("nik_index"),
    column("register_index"),
    column("erased_at"),
)


@dataclass(frozen=True)
class Plan:
    target_version: int
    new_version: bool
    pending: int


@dataclass(frozen=True)
class Outcome:
    target_version: int
    done: int
    skipped: int


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


Batch = Callable[[Any], tuple[int, int, Any]]


def _page(session: Any, query: Any, row_id: Any, after: Any, size: int) -> list[Any]:
    """The next ``size`` rows of ``query`` after the row id ``after`` (None: from the start)."""
    if after is not None:
        query = query.where(row_id > after)
    return list(session.execute(query.order_by(row_id).limit(size)).all())


def _still_current(session: Any, kind: str, target: int, work: str, command: str) -> None:
    current = read_state(session, kind).current
    if current != target:
        raise Conflict(
            f"{kind} key version {current} became current during the "
            f"{work} to {target}; run `vault keys {command}` again"
        )


def _apply(session: Any, statement: Any, updates: list[dict[str, Any]]) -> tuple[int, int]:
    """Run the compare-and-set ``statement`` over ``updates``: (done, lost to a race)."""
    if not updates:
        return 0, 0
    result = session.execute(statement, updates)
    done = int(result.rowcount)
    return done, len(updates) - done


def _sweep(
    sweeps: list[Batch],
    on_batch: Callable[[int], None] | None,
    settle: Callable[[], None] | None,
) -> tuple[int, int]:
    """Every batch of every sweep, in two passes; ``on_batch(done_so_far)``."""
    total = 0

    def one_pass() -> tuple[int, int]:
        nonlocal total
        done = skipped = 0
        for next_batch in sweeps:
            after: Any = None
            while True:
                n, s, after = next_batch(after)
                if after is None:
                    break
                done += n
                skipped += s
                total += n
                if on_batch is not None:
                    on_batch(total)
        return done, skipped

    # Every process learns the new version within DEFAULT_TTL: waiting that long
    # first means none refuses a value already moved to it (or searches only the old
    # version); what one of them wrote under the old version meanwhile is caught by
    # one more pass after another wait.
    wait = settle or (lambda: time.sleep(DEFAULT_TTL))
    wait()
    done, skipped = one_pass()
    wait()
    more, more_skipped = one_pass()
    return done + more, skipped + more_skipped


@functools.cache
def _sealed_table(spec: SealedColumn) -> TableClause:
    return table(spec.table, column("id", NullType()), column(spec.stored))


def _seal_pending(spec: SealedColumn, target: int) -> Any:
    value = _sealed_table(spec).c[spec.stored]
    return and_(value.like("v%:%"), ~value.like(f"v{target}:%"))


def seal_pending_counts(db: Database, target: int) -> dict[str, int]:
    """Sealed values not under ``target``, per ``table.column``."""
    counts: dict[str, int] = {}
    with db.read_session() as conn:
        for spec in SEALED_COLUMNS:
            counts[f"{spec.table}.{spec.stored}"] = int(
                conn.execute(
                    select(func.count())
                    .select_from(_sealed_table(spec))
                    .where(_seal_pending(spec, target))
                ).scalar_one()
            )
    return counts


def seal_counts_by_version(db: Database) -> dict[int, int]:
    """How many sealed values each seal key version holds, over every sealed column."""
    counts: dict[int, int] = {}
    with db.read_session() as conn:
        for spec in SEALED_COLUMNS:
            value = _sealed_table(spec).c[spec.stored]
            for (stored,) in conn.execute(select(value).where(value.like("v%:%"))):
                version = seal_version(str(stored))
                if version is not None:
                    counts[version] = counts.get(version, 0) + 1
    return counts


def _plan(db: Database, kind: str, pending: Callable[[int], int]) -> Plan:
    current = state_of(db, kind).current
    left = pending(current)
    if left and current > 1:
        return Plan(current, new_version=False, pending=left)
    target = max(v.version for v in state_of(db, kind).versions) + 1
    make_current(db, kind, target)
    return Plan(target, new_version=True, pending=pending(target))


def plan_seal_rotation(db: Database) -> Plan:
    """Resume a rotation whose target is current and rows remain; else a new version."""
    return _plan(db, SEAL, lambda target: sum(seal_pending_counts(db, target).values()))


def _reseal_batch(
    db: Database, sealer: ColumnSealer, spec: SealedColumn, target: int, after: Any, size: int
) -> tuple[int, int, Any]:
    sealed = _sealed_table(spec)
    value = sealed.c[spec.stored]
    query = select(sealed.c.id, value).where(_seal_pending(spec, target))
    with db.session() as session:
        rows = _page(session, query, sealed.c.id, after, size)
        if not rows:
            return 0, 0, None
        _still_current(session, SEAL, target, "rotation", "rotate-seals")
        updates = []
        skipped = 0
        for row_id, stored in rows:
            try:
                plain = sealer.open(spec.table, spec.bound, _as_uuid(row_id), str(stored))
            except DecryptionFailed:
                skipped += 1  # tampered, or under a retired version: left as it is
                continue
            updates.append(
                {
                    "row_id": row_id,
                    "old": stored,
                    "new": sealer.seal(
                        spec.table, spec.bound, _as_uuid(row_id), plain, version=target
                    ),
                }
            )
        done, lost = _apply(
            session,
            update(sealed)
            .where(sealed.c.id == bindparam("row_id"))
            .where(value == bindparam("old"))
            .values({spec.stored: bindparam("new")}),
            updates,
        )
    return done, skipped + lost, rows[-1][0]


def reseal_all(
    db: Database,
    sealer: ColumnSealer,
    *,
    plan: Plan | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    settle: Callable[[], None] | None = None,
) -> Outcome:
    """Reseal every sealed column under the plan's version; ``on_batch(done_so_far)``."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    plan = plan or plan_seal_rotation(db)
    sweeps: list[Batch] = [
        functools.partial(_reseal_batch, db, sealer, spec, plan.target_version, size=batch_size)
        for spec in SEALED_COLUMNS
    ]
    done, skipped = _sweep(sweeps, on_batch, settle)
    return Outcome(plan.target_version, done, skipped)


def retire_version(db: Database, kind: str, version: int) -> None:
    """Mark a seal or index key version retired: refused while current or still used."""
    state = state_of(db, kind)
    if version == state.current:
        raise Conflict(f"{kind} key version {version} is current; rotate first")
    if version not in {v.version for v in state.versions}:
        raise Conflict(f"{kind} key version {version} does not exist")
    if kind == SEAL:
        used = seal_counts_by_version(db).get(version, 0)
    else:
        used = index_counts_by_version(db).get(version, 0)
    if used:
        raise Conflict(
            f"{kind} key version {version} is still used by {used} values; finish the "
            "rotation first"
        )
    mark_retired(db, kind, version)


# --- blind index ---------------------------------------------------------------------


def _index_prefix(version: int) -> str:
    return f"i{version}."


def _index_pending(target: int) -> Any:
    prefix = _index_prefix(target) + "%"
    return and_(
        _SUBJECTS.c.erased_at.is_(None),
        or_(~_SUBJECTS.c.nik_index.like(prefix), ~_SUBJECTS.c.register_index.like(prefix)),
    )


def index_pending_count(db: Database, target: int) -> int:
    with db.read_session() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(_SUBJECTS).where(_index_pending(target))
            ).scalar_one()
        )


def index_counts_by_version(db: Database) -> dict[int, int]:
    """How many live subjects' NIK digests each index version holds."""
    from vault.crypto.blind_index import digest_version

    counts: dict[int, int] = {}
    with db.read_session() as conn:
        rows = conn.execute(
            select(_SUBJECTS.c.nik_index, _SUBJECTS.c.register_index).where(
                _SUBJECTS.c.erased_at.is_(None)
            )
        )
        for nik, register in rows:
            for stored in (nik, register):
                version = digest_version(str(stored))
                if version is not None:
                    counts[version] = counts.get(version, 0) + 1
    return counts


def plan_index_rebuild(db: Database) -> Plan:
    return _plan(db, INDEX, lambda target: index_pending_count(db, target))


IdentityFields = Callable[[Any, uuid.UUID, list[str]], dict[str, str]]


def _reindex_batch(
    db: Database,
    index: BlindIndex,
    identity: IdentityFields,
    target: int,
    after: Any,
    size: int,
) -> tuple[int, int, Any]:
    query = select(_SUBJECTS.c.id, _SUBJECTS.c.nik_index, _SUBJECTS.c.register_index).where(
        _index_pending(target)
    )
    with db.session() as session:
        rows = _page(session, query, _SUBJECTS.c.id, after, size)
        if not rows:
            return 0, 0, None
        _still_current(session, INDEX, target, "rebuild", "rebuild-index")
        updates = []
        skipped = 0
        for row_id, nik_stored, register_stored in rows:
            try:
                fields = identity(session, _as_uuid(row_id), ["nik", "register_number"])
            except Exception:  # noqa: BLE001  # no key or no identity: left, and counted
                skipped += 1
                continue
            updates.append(
                {
                    "row_id": row_id,
                    "old_nik": nik_stored,
                    "old_register": register_stored,
                    "nik": index.digest("nik", fields["nik"], target),
                    "register": index.digest("register_number", fields["register_number"], target),
                }
            )
        done, lost = _apply(
            session,
            update(_SUBJECTS)
            .where(_SUBJECTS.c.id == bindparam("row_id"))
            .where(_SUBJECTS.c.nik_index == bindparam("old_nik"))
            .where(_SUBJECTS.c.register_index == bindparam("old_register"))
            .values(nik_index=bindparam("nik"), register_index=bindparam("register")),
            updates,
        )
    return done, skipped + lost, rows[-1][0]


def rebuild_index(
    db: Database,
    index: BlindIndex,
    identity: IdentityFields,
    *,
    plan: Plan | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[int], None] | None = None,
    settle: Callable[[], None] | None = None,
) -> Outcome:
    """Re-derive every live subject's digests under the plan's version; when none is left
    under an older one, the older versions are retired (searches stop looking there)."""
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    plan = plan or plan_index_rebuild(db)
    sweep: Batch = functools.partial(
        _reindex_batch, db, index, identity, plan.target_version, size=batch_size
    )
    done, skipped = _sweep([sweep], on_batch, settle)
    if index_pending_count(db, plan.target_version) == 0:
        for info in state_of(db, INDEX).versions:
            if info.version != plan.target_version and info.state != RETIRED:
                mark_retired(db, INDEX, info.version)
    return Outcome(plan.target_version, done, skipped)
