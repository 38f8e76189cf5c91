"""A bounded number of holders, handed out in the order they asked (``FairSlots``)."""

from __future__ import annotations

import threading
from collections import deque

__all__ = ["FairSlots"]


class FairSlots:
    """At most ``size`` holders at once; a freed slot goes to the longest waiter.

    A ``threading.Semaphore`` is not fair: the thread that releases a slot holds
    the GIL and takes it straight back on its next read, so a waiter woken a
    moment later finds none and, with a timeout, gives up (measured: 8 threads
    on 2 slots, waiters timed out after 50 ms and each opened a connection of
    its own). Here a release hands the slot to the first waiter directly.
    """

    def __init__(self, size: int) -> None:
        self._free = size
        self._lock = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        """Take a slot, waiting at most ``timeout`` seconds; whether one was taken."""
        with self._lock:
            if self._free and not self._waiters:
                self._free -= 1
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        if waiter.acquire(timeout=timeout):
            return True  # handed over by release()
        with self._lock:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
                return False
        # release() handed the slot over just as the wait timed out: it is ours.
        waiter.acquire()
        return True

    @property
    def waiting(self) -> int:
        """How many threads wait for a slot now."""
        with self._lock:
            return len(self._waiters)

    def release(self) -> None:
        """Give a slot back: to the first waiter, or to the free ones."""
        with self._lock:
            if self._waiters:
                self._waiters.popleft().release()
            else:
                self._free += 1
