"""``SubjectKeys``: create, fetch (cached), shred and rotate subjects' data keys.

Unwrapped keys are cached in process, bounded in size and time, so a read does
not call the key provider (an HSM round trip costs ~200 µs). The cache is
checked against the stored row on every fetch: a key shredded or rotated by
another process is never served from here.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, func, inspect, select, text, update
from sqlmodel import Session

from vault.crypto.keys import DataKey, WrappedKey
from vault.crypto.providers.base import KeyProvider
from vault.cursor_reads import Reads
from vault.db import Database
from vault.errors import Conflict, NotFound
from vault.keys.models import SubjectKey
from vault.keys.pins import pinned_kek

log = logging.getLogger("vault.keys")

_table = SubjectKey.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_ROW = select(_table.c.kek_version, _table.c.wrapped_dek).where(
    _table.c.subject_id == bindparam("subject_id")
)


@dataclass
class _Cached:
    blob: bytes
    key: DataKey
    expires: float


class DekCache:
    """A bounded LRU of unwrapped data keys, each kept at most ``ttl`` seconds.

    Expired entries go on access (a lookup of an expired key drops it), at every
    ``put`` once ``ttl`` has passed since the last sweep, and from a background
    sweeper (one daemon thread for every cache of the process, holding them only
    weakly) every ``ttl`` seconds, so an unwrapped key does not stay in memory
    after its time because nobody asked for it again.
    """

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[uuid.UUID, _Cached] = OrderedDict()
        self._lock = threading.Lock()
        self._next_sweep = clock() + ttl

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, subject_id: uuid.UUID, blob: bytes) -> DataKey | None:
        with self._lock:
            entry = self._entries.get(subject_id)
            if entry is None:
                return None
            if entry.expires <= self._clock() or not hmac.compare_digest(entry.blob, blob):
                del self._entries[subject_id]
                return None
            self._entries.move_to_end(subject_id)
            return entry.key

    def put(self, subject_id: uuid.UUID, blob: bytes, key: DataKey) -> None:
        if self.size == 0 or self.ttl == 0:
            return
        with self._lock:
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep_locked(now)
            self._entries[subject_id] = _Cached(blob, key, now + self.ttl)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def sweep(self) -> int:
        """Drop every expired entry now; how many were dropped."""
        with self._lock:
            return self._sweep_locked(self._clock())

    def _sweep_locked(self, now: float) -> int:
        expired = [key for key, entry in self._entries.items() if entry.expires <= now]
        for key in expired:
            del self._entries[key]
        self._next_sweep = now + self.ttl
        return len(expired)

    def forget(self, subject_id: uuid.UUID) -> None:
        with self._lock:
            self._entries.pop(subject_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Sweeper:
    """One daemon thread sweeping every registered cache; caches are held weakly."""

    def __init__(self) -> None:
        self._caches: weakref.WeakSet[DekCache] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.interval = 60.0

    def register(self, cache: DekCache) -> None:
        if cache.size == 0 or cache.ttl == 0:
            return
        with self._lock:
            self._caches.add(cache)
            self.interval = min(self.interval, max(cache.ttl, 1.0))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="vault-dek-cache-sweeper", daemon=True
                )
                self._thread.start()

    def sweep_all(self) -> int:
        with self._lock:
            caches = list(self._caches)
        return sum(cache.sweep() for cache in caches)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            self.sweep_all()


SWEEPER = _Sweeper()


class SubjectKeys:
    """One random 256-bit DEK per subject, stored only wrapped by a KEK version."""

    def __init__(self, provider: KeyProvider, cache: DekCache) -> None:
        self.provider = provider
        self.cache = cache

    def _row(self, session: Reads, subject_id: uuid.UUID) -> tuple[int, bytes] | None:
        # Core and built once: the ORM, or even building the select per call, would
        # cost more than the crypto on this hot path.
        found = session.execute(_ROW, {"subject_id": subject_id}).first()
        return None if found is None else (int(found[0]), bytes(found[1]))

    def wrap_version(self, session: Reads) -> int:
        """The KEK version new wraps use: the one pinned in the store (else the provider's)."""
        pinned = pinned_kek(session)
        return self.provider.current_version() if pinned is None else pinned

    def create(self, session: Session, subject_id: uuid.UUID) -> DataKey:
        """A new DEK for the subject; its wrapped form is added to ``session``."""
        if self._row(session, subject_id) is not None:
            raise Conflict("this subject already has a data key")
        dek = DataKey.generate()
        wrapped = self.provider.wrap(dek, subject_id, self.wrap_version(session))
        session.add(
            SubjectKey(
                subject_id=subject_id, kek_version=wrapped.kek_version, wrapped_dek=wrapped.blob
            )
        )
        session.flush()
        # The row now holds the table's write lock (SQLite) or a lock that conflicts
        # with `vault keys retire` (PostgreSQL), so a retirement either waits for this
        # transaction and sees the row, or finished before it: then rewrap here.
        if wrapped.kek_version not in self.provider.versions():
            rewrapped = self.provider.wrap(dek, subject_id, self.wrap_version(session))
            session.execute(
                update(_table)
                .where(_table.c.subject_id == subject_id)
                .values(kek_version=rewrapped.kek_version, wrapped_dek=rewrapped.blob)
            )
            wrapped = rewrapped
        self.cache.put(subject_id, wrapped.blob, dek)
        return dek

    def data_key(self, session: Session, subject_id: uuid.UUID) -> DataKey:
        """The subject's DEK (from the cache when the stored row still matches)."""
        wrapped = self.wrapped_key(session, subject_id)
        if wrapped is None:
            raise NotFound("no data key for this subject (never created, or shredded)")
        return self.unwrap(subject_id, wrapped)

    def wrapped_key(self, session: Reads, subject_id: uuid.UUID) -> WrappedKey | None:
        """The subject's stored (wrapped) DEK, or None: reading it releases nothing.

        With ``unwrap`` it splits ``data_key`` in two, so a reader can take the row
        in its read transaction, end that transaction, and unwrap only after its
        audit event is durable.
        """
        row = self._row(session, subject_id)
        return None if row is None else WrappedKey(*row)

    def unwrap(self, subject_id: uuid.UUID, wrapped: WrappedKey) -> DataKey:
        """The DEK inside ``wrapped`` (the subject's row), from the cache if the row matches."""
        cached = self.cache.get(subject_id, wrapped.blob)
        if cached is not None:
            return cached
        dek = self.provider.unwrap(wrapped, subject_id)
        self.cache.put(subject_id, wrapped.blob, dek)
        return dek

    def shred(self, session: Session, subject_id: uuid.UUID) -> None:
        """Delete the subject's wrapped DEK: every field of the subject becomes unreadable."""
        result = session.execute(delete(_table).where(_table.c.subject_id == subject_id))
        if result.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult for DML
            raise NotFound("no data key for this subject (never created, or shredded)")
        self.cache.forget(subject_id)

    def rotate_subject(
        self,
        session: Session,
        subject_id: uuid.UUID,
        reencrypt: Callable[[DataKey, DataKey], None],
    ) -> None:
        """Replace the subject's DEK; ``reencrypt(old, new)`` rewrites its fields in ``session``.

        The row is replaced with compare-and-set on the old wrapped key, so two
        concurrent rotations cannot both succeed.
        """
        row = self._row(session, subject_id)
        if row is None:
            raise NotFound("no data key for this subject (never created, or shredded)")
        old_version, old_blob = row
        old = self.data_key(session, subject_id)
        new = DataKey.generate()
        wrapped = self.provider.wrap(new, subject_id, self.wrap_version(session))
        reencrypt(old, new)
        result = session.execute(
            update(_table)
            .where(_table.c.subject_id == subject_id)
            .where(_table.c.kek_version == old_version)
            .where(_table.c.wrapped_dek == old_blob)
            .values(kek_version=wrapped.kek_version, wrapped_dek=wrapped.blob)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for DML
            raise Conflict("the subject's data key changed during rotation; try again")
        self.cache.forget(subject_id)

    def counts_by_version(self, session: Session) -> dict[int, int]:
        """How many DEKs each KEK version wraps."""
        rows = session.execute(
            select(_table.c.kek_version, func.count()).group_by(_table.c.kek_version)
        ).all()
        return {int(version): int(count) for version, count in rows}


def purge_freed_pages(
    db: Database,
    tables: Sequence[str] = (),
    *,
    rewrite: Sequence[str] = (),
    deadline_seconds: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """After a shred commits, make the storage drop the old bytes; True when it did.

    SQLite: ``secure_delete`` zeroes a deleted row in the database file, but the
    WAL still holds the page as it was until a checkpoint; ``wal_checkpoint(TRUNCATE)``
    copies the WAL back and truncates it to zero bytes. It answers ``busy`` while a
    reader still needs the WAL (plausible with a pool of 40), so it is retried,
    backing off, until it truncates or ``deadline_seconds`` pass (then logged, and
    False: the next erasure or the next checkpoint finishes it).

    PostgreSQL (outside a transaction, after the commit): ``VACUUM FULL`` of
    ``rewrite`` writes each table and its indexes into new files and drops the old
    ones, so no page of the table holds the old bytes any more (it locks the table
    while it copies: meant for the small tables that identify a subject or hold its
    key); ``VACUUM`` of ``tables`` removes dead row versions and their index entries,
    but their bytes stay in the pages' free space until it is reused. What stays in
    the WAL, in replicas and in backups is in docs/keys.md.
    """
    if not db.is_sqlite:
        return _vacuum(db, tables, rewrite, deadline_seconds, sleep)
    busy, log_frames = 1, -1
    for _waited in _backing_off(deadline_seconds, sleep):
        # Outside any transaction (a checkpoint cannot run inside one), so on the raw
        # driver connection rather than through the engine's BEGIN hook.
        # TRUNCATE waits in the busy handler for readers: a short wait per attempt here,
        # the pool's usual timeout restored before the connection goes back.
        raw = db.engine.raw_connection()
        driver: Any = raw.driver_connection  # the sqlite3 connection (SQLite only here)
        try:
            if driver is None:  # a connection just checked out of the pool always has one
                raise Conflict("The database connection closed before the WAL checkpoint.")
            usual = int(driver.execute("PRAGMA busy_timeout").fetchone()[0])
            driver.execute("PRAGMA busy_timeout=200")
            row = driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            driver.execute(f"PRAGMA busy_timeout={usual}")
        finally:
            raw.close()
        busy, log_frames = (int(row[0]), int(row[1])) if row is not None else (1, -1)
        if busy == 0 and log_frames <= 0:  # -1: not in WAL mode
            return True
    log.error(
        "erasure: the SQLite WAL could not be truncated within %.0f s (busy=%d, "
        "frames=%d); old pages stay in the WAL until the next checkpoint",
        deadline_seconds,
        busy,
        log_frames,
    )
    return False


def _backing_off(deadline_seconds: float, sleep: Callable[[float], None]) -> Iterator[float]:
    """The seconds waited so far, once for each attempt: the first at once, then after
    10 ms, 20 ms, ... (at most 1 s each), the last once ``deadline_seconds`` have passed."""
    delay, waited = 0.01, 0.0
    while True:
        yield waited
        if waited >= deadline_seconds:
            return
        sleep(delay)
        waited += delay
        delay = min(delay * 2, 1.0)


# Sessions with a snapshot or a transaction older than the given transaction id, in any
# database of the server: VACUUM keeps the row versions the shred left dead while one
# runs. Any database, because a snapshot's xmin is the oldest transaction running on
# the whole server, so a write in another database holds back this one's horizon too.
# (Autovacuum workers' snapshots hold back no horizon.)
_OLDER_SNAPSHOTS = (
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
    "AND backend_type <> 'autovacuum worker' "
    "AND greatest(age(backend_xmin), age(backend_xid)) >= age(CAST(:mark AS xid))"
)


def _vacuum(
    db: Database,
    tables: Sequence[str],
    rewrite: Sequence[str],
    deadline_seconds: float,
    sleep: Callable[[float], None],
) -> bool:
    """VACUUM FULL copies every row version an open snapshot may still see: first wait
    (backing off, up to the deadline) until every snapshot older than the shred ended,
    e.g. the audit writer's batch in flight, else the old key would be copied along."""
    known = set(inspect(db.engine).get_table_names())
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        mark = conn.exec_driver_sql(
            "SELECT CAST(CAST(pg_current_xact_id() AS xid) AS text)"
        ).scalar_one()
        older = text(_OLDER_SNAPSHOTS).bindparams(mark=str(mark))
        blocked, waited = 0, 0.0
        for waited in _backing_off(deadline_seconds, sleep):  # noqa: B007  # read after the loop
            if not (blocked := int(conn.execute(older).scalar_one())):
                break
        if blocked:
            log.warning(
                "erasure: %d older snapshot(s) still open after %.0f s; the next vacuum "
                "drops what this one had to keep",
                blocked,
                waited,
            )
        for name in rewrite:
            if name in known:  # only real table names reach the statement
                conn.exec_driver_sql(f'VACUUM (FULL) "{name}"')
        for name in tables:
            if name in known and name not in rewrite:
                conn.exec_driver_sql(f'VACUUM "{name}"')
    return not blocked
