"""A per-user limit on record reads: a stolen token or a curious colleague cannot
page through every record at machine speed.

A sliding window kept in the process: with N workers a user gets at most N times
the limit (stated in the README). Login and PIN limits, where guessing is the
threat, are kept in the database instead.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable

from vault.errors import RateLimited


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
