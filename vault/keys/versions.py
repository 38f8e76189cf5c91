"""Versions of the keys derived from the root: the column-seal key and the blind-index keys.

Their state lives in the store's ``key_pins``, one row per version and one for
the current version of each kind:

- ``seal_current`` / ``index_current``: the version new seals (digests) use
  (absent: version 1, the only one of every release before these keys rotated);
- ``seal_key_v<N>`` / ``index_key_v<N>``: ``active`` or ``retired``; the row's
  ``created_at`` is the version's age. Version 1 is active unless a row says
  it is retired.

A seal opens only under an active (or the current) version; a search looks
under the current version and every other active one (so it finds a subject
while ``vault keys rebuild-index`` is half way). Each process rereads the pins
at most every ``ttl`` seconds: a rotation reaches every process within that
time, and the rotation jobs run a last pass after waiting that long.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from vault.db import Database
from vault.keys.models import KeyPin
from vault.keys.pins import get_pin, pins_table_exists, set_pin

SEAL = "seal"
INDEX = "index"
ACTIVE = "active"
RETIRED = "retired"
DEFAULT_TTL = 5.0

_table = KeyPin.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models


def current_pin(kind: str) -> str:
    return f"{kind}_current"


def version_pin(kind: str, version: int) -> str:
    return f"{kind}_key_v{version}"


@dataclass(frozen=True)
class VersionInfo:
    version: int
    state: str  # "current", "active" or "retired"
    created_at: datetime | None  # None: version 1 from before versions were recorded


@dataclass(frozen=True)
class VersionState:
    current: int
    versions: tuple[VersionInfo, ...]

    @property
    def usable(self) -> tuple[int, ...]:
        """The current version first, then every other active one."""
        others = [v.version for v in self.versions if v.state == ACTIVE]
        return (self.current, *sorted(set(others) - {self.current}, reverse=True))


def read_state(session: object, kind: str) -> VersionState:
    """The versions of ``kind`` as pinned (``session``: a Session or a Connection)."""
    value = get_pin(session, current_pin(kind))
    current = 1 if value is None else int(value)
    prefix = f"{kind}_key_v"
    rows = session.execute(  # type: ignore[attr-defined]  # Session and Connection both execute
        select(_table.c.name, _table.c.value, _table.c.created_at).where(
            _table.c.name.like(prefix + "%")
        )
    ).all()
    found: dict[int, VersionInfo] = {}
    for name, state, created in rows:
        suffix = str(name)[len(prefix) :]
        if not suffix.isdigit():
            continue
        version = int(suffix)
        shown = "current" if version == current else str(state)
        found[version] = VersionInfo(version, shown, created)
    if 1 not in found:
        found[1] = VersionInfo(1, "current" if current == 1 else ACTIVE, None)
    if current not in found:
        found[current] = VersionInfo(current, "current", None)
    return VersionState(current, tuple(found[v] for v in sorted(found)))


def state_of(db: Database, kind: str) -> VersionState:
    """The pinned versions, read in a read-only transaction (never the write lock: this
    runs inside writers' transactions too). Before migration: version 1 alone."""
    try:
        with db.read_session() as session:
            return read_state(session, kind)
    except (OperationalError, ProgrammingError):
        if _has_pins(db):
            raise
        return VersionState(1, (VersionInfo(1, "current", None),))


def _has_pins(db: Database) -> bool:
    with db.engine.connect() as conn:
        return pins_table_exists(conn)


def make_current(db: Database, kind: str, version: int) -> None:
    """Record ``version`` of ``kind`` and make it current; the previous current stays active."""
    with db.session() as session:
        previous = read_state(session, kind).current
        set_pin(session, version_pin(kind, previous), ACTIVE)
        set_pin(session, version_pin(kind, version), ACTIVE)
        set_pin(session, current_pin(kind), str(version))


def mark_retired(db: Database, kind: str, version: int) -> None:
    with db.session() as session:
        set_pin(session, version_pin(kind, version), RETIRED)


class PinnedVersions:
    """The live versions of one kind for the sealer or the blind index, reread every ``ttl``.

    Before the store is migrated (no pins table) it answers version 1. If the store
    cannot be read, the last answer stands (and the first read raises).
    """

    def __init__(
        self,
        db: Database,
        kind: str,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._kind = kind
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._state: VersionState | None = None
        self._read_at = 0.0

    def refresh(self) -> VersionState:
        state = state_of(self._db, self._kind)
        with self._lock:
            self._state = state
            self._read_at = self._clock()
        return state

    def state(self) -> VersionState:
        state = self._state
        if state is None or self._clock() - self._read_at >= self.ttl:
            if state is None:
                return self.refresh()
            try:
                return self.refresh()
            except Exception:  # noqa: BLE001  # a store hiccup: keep the last known versions
                return state
        return state

    def current(self) -> int:
        return self.state().current

    def accepted(self) -> frozenset[int]:
        return frozenset(self.state().usable)

    def searched(self) -> tuple[int, ...]:
        return self.state().usable
