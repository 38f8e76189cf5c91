"""``SubjectKeys``: create, fetch (cached), shred and rotate subjects' data keys.

Unwrapped keys are cached in process, bounded in size and time, so a read does
not call the key provider (an HSM round trip costs ~200 µs). The cache is
checked against the stored row on every fetch: a key shredded or rotated by
another process is never served from here.
"""

from __future__ import annotations

import hmac
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import bindparam, delete, func, select, update
from sqlmodel import Session

from vault.crypto.keys import DataKey, WrappedKey
from vault.crypto.providers.base import KeyProvider
from vault.cursor_reads import Reads
from vault.db import Database
from vault.errors import Conflict, NotFound
from vault.keys.models import SubjectKey
from vault.keys.pins import pinned_kek

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
    """A bounded LRU of unwrapped data keys, each kept at most ``ttl`` seconds."""

    def __init__(self, size: int, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.size = size
        self.ttl = ttl
        self._clock = clock
        self._entries: OrderedDict[uuid.UUID, _Cached] = OrderedDict()
        self._lock = threading.Lock()

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
            self._entries[subject_id] = _Cached(blob, key, self._clock() + self.ttl)
            self._entries.move_to_end(subject_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, subject_id: uuid.UUID) -> None:
        with self._lock:
            self._entries.pop(subject_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


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


def purge_freed_pages(db: Database) -> None:
    """After a shred commits, push SQLite's write-ahead log into the database and truncate it.

    ``secure_delete`` zeroes a deleted row in the database file, but the WAL still
    holds the page as it was until a checkpoint. PostgreSQL needs nothing here
    (its old row versions are vacuumed; its backups are the operator's concern).
    """
    if db.is_sqlite:
        # Outside any transaction (a checkpoint cannot run inside one), so on the raw
        # driver connection rather than through the engine's BEGIN hook.
        raw = db.engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # type: ignore[union-attr]
        finally:
            raw.close()
