"""A per-user limit on record reads: a stolen token or a curious colleague cannot
page through every record at machine speed.

Two gates. ``ReadLimiter.check`` is a sliding window kept in the process:
cheap, and it turns away a client hammering one worker without touching the
store. Then ``check_logged`` counts the user's allowed reads of the last window
in the audit log itself, so the limit holds across every worker and every server on
one database (a user spreading requests over N workers got N times the limit
before). The count stops at the limit, so it costs at most that many index
entries. Concurrent reads of one user can still pass the count together
before their events are written: the overshoot is bounded by the user's
concurrency. Login and PIN limits, where guessing is the threat, are kept in
the database too.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select

from vault.audit.log import EVENTS
from vault.cursor_reads import Ahead, Reads
from vault.errors import RateLimited
from vault.stamps import UtcDateTime

# The user's allowed record reads since :since, counted up to :cap (index: actor,
# action, time).
_RECENT_READS = select(func.count()).select_from(
    select(EVENTS.c.seq)
    .where(
        EVENTS.c.actor_id == bindparam("actor_id"),
        EVENTS.c.action == "record.read",
        EVENTS.c.time >= bindparam("since", type_=UtcDateTime()),
        EVENTS.c.outcome == "allow",
    )
    .limit(bindparam("cap"))
    .subquery()
)


class ReadLimiter:
    def __init__(
        self,
        max_reads: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_reads = max_reads
        self.window = window_seconds
        self.clock = clock
        self._reads: dict[uuid.UUID, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, user_id: uuid.UUID) -> None:
        """Count one read by ``user_id``; raise RateLimited when over the limit."""
        now = self.clock()
        with self._lock:
            reads = self._reads.setdefault(user_id, deque())
            while reads and reads[0] <= now - self.window:
                reads.popleft()
            if len(reads) >= self.max_reads:
                raise self._refusal(max(1, math.ceil(reads[0] + self.window - now)))
            reads.append(now)
            if len(self._reads) > 10_000:  # forget users with no read in the window
                for stale in [
                    u for u, r in self._reads.items() if not r or r[-1] <= now - self.window
                ]:
                    del self._reads[stale]

    def logged_ahead(self, user_id: uuid.UUID, now: datetime) -> Ahead:
        """The statement ``check_logged`` runs, to send ahead (``vault.ahead_reads``)."""
        since = now - timedelta(seconds=self.window)
        return (_RECENT_READS, {"actor_id": user_id, "since": since, "cap": self.max_reads})

    def check_logged(self, reads: Reads, user_id: uuid.UUID, now: datetime) -> None:
        """The same limit over every process: ``user_id``'s allowed reads in the audit log
        since ``now`` minus the window, counted up to the limit; RateLimited when reached."""
        row = reads.execute(*self.logged_ahead(user_id, now)).first()
        if row is not None and int(row[0]) >= self.max_reads:
            raise self._refusal(max(1, int(self.window)))

    def _refusal(self, retry_after: int) -> RateLimited:
        return RateLimited(
            f"At most {self.max_reads} record reads per {self.window:g} seconds.",
            retry_after=retry_after,
        )
