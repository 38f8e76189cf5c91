"""A per-user limit on record reads: a stolen token or a curious colleague cannot
page through every record at machine speed.

Two gates. ``ReadLimiter`` is a sliding window kept in the process: cheap, and
it turns away a client hammering one worker without touching the store. Then
``audited_reads`` counts the user's allowed reads of the last window in the
audit log itself, so the limit holds across every worker and every server on
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
from datetime import datetime

from sqlalchemy import bindparam, func, select

from vault.audit.log import EVENTS
from vault.cursor_reads import Reads
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


def audited_reads(reads: Reads, user_id: uuid.UUID, since: datetime, cap: int) -> int:
    """How many records ``user_id`` was allowed to read since ``since``, up to ``cap``."""
    row = reads.execute(_RECENT_READS, {"actor_id": user_id, "since": since, "cap": cap}).first()
    return int(row[0]) if row is not None else 0


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
                retry_after = max(1, math.ceil(reads[0] + self.window - now))
                raise RateLimited(
                    f"At most {self.max_reads} record reads per {self.window:g} seconds.",
                    retry_after=retry_after,
                )
            reads.append(now)
            if len(self._reads) > 10_000:  # forget users with no read in the window
                for stale in [
                    u for u, r in self._reads.items() if not r or r[-1] <= now - self.window
                ]:
                    del self._reads[stale]
