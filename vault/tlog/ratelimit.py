"""A per-address limit on the open transparency routes (no account to count by).

The witness routes answer without a token, so the client's address is the
only handle: a sliding window kept in the process, ``limit`` requests per
``window`` seconds per address, then 429 (problem+json with ``Retry-After``).
Behind a proxy every client shares the proxy's address: size the limit for it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from vault.errors import RateLimited

__all__ = ["AddressLimiter"]

# Addresses remembered before the stale ones are forgotten.
_MAX_ADDRESSES = 10_000


class AddressLimiter:
    """``limit`` requests per ``window`` seconds per client address (0: no limit)."""

    def __init__(
        self, limit: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, address: str | None) -> None:
        """Count one request from ``address``; raise RateLimited when over the limit."""
        if self.limit <= 0:
            return
        key = address or "unknown"
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.limit:
                retry_after = max(1, math.ceil(times[0] + self.window - now))
                raise RateLimited(
                    f"At most {self.limit} requests per {self.window:g} seconds from one address.",
                    retry_after=retry_after,
                )
            times.append(now)
            if len(self._seen) > _MAX_ADDRESSES:
                for stale in [
                    k for k, t in self._seen.items() if not t or t[-1] <= now - self.window
                ]:
                    del self._seen[stale]
