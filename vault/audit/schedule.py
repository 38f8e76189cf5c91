"""When the audit log signs a checkpoint of its head: every N events or T seconds.

Checkpoints bound what a database writer can rewrite unseen (the tail after
the newest one); the writer thread asks ``due()`` after each batch and sleeps
at most ``idle_timeout()`` so a quiet log still signs its tail in time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CheckpointSchedule:
    """Counts the events written since the last checkpoint and the time since it."""

    def __init__(self, *, enabled: bool, every: int, seconds: float) -> None:
        self._enabled = enabled
        self._every = every
        self._seconds = seconds
        self.uncheckpointed = 0
        self._last = time.monotonic()

    def written(self, count: int) -> None:
        self.uncheckpointed += count

    def signed(self, covered: int | None = None) -> None:
        """A checkpoint was signed over ``covered`` of the counted events (None: all);
        events counted while it was being signed stay counted."""
        left = 0 if covered is None else max(0, self.uncheckpointed - covered)
        self.uncheckpointed = left
        self._last = time.monotonic()

    def due(self) -> bool:
        if not self._enabled or not self.uncheckpointed:
            return False
        by_count = self.uncheckpointed >= self._every
        by_time = time.monotonic() - self._last >= self._seconds
        return by_count or by_time

    def idle_timeout(self) -> float | None:
        """How long the writer may wait for events before a checkpoint falls due."""
        if not self._enabled or not self.uncheckpointed:
            return None
        return max(0.0, self._seconds - (time.monotonic() - self._last))


class SigningAside:
    """Signs heads on a thread of its own, one at a time, as many as fall due.

    ``sign()`` signs one head (False when it failed: it was logged, and the next
    event or interval tries again). Asked while a head is being signed, the thread
    signs once more after it, so a head falling due meanwhile is never dropped.
    """

    def __init__(self, sign: Callable[[], bool], due: Callable[[], bool]) -> None:
        self._sign = sign
        self._due = due
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._again = False
        self._closed = False

    @property
    def busy(self) -> bool:
        return self._thread is not None

    def request(self) -> None:
        with self._lock:
            if self._closed:
                return  # a timer of the loop may still fire after the log closed
            if self._thread is not None:
                self._again = True
                return
            self._thread = threading.Thread(target=self._run, name="vault-audit-heads", daemon=True)
            self._thread.start()

    def close(self) -> None:
        """Sign nothing more; wait for a head being signed."""
        with self._lock:
            self._closed = True
        thread = self._thread
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        again = True
        while again:
            signed = self._sign()
            with self._lock:
                again = signed and (self._again or self._due())
                self._again = False
                if not again:
                    self._thread = None
