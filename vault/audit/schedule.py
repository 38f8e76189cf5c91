"""When the audit log signs a checkpoint of its head: every N events or T seconds.

Checkpoints bound what a database writer can rewrite unseen (the tail after
the newest one); the writer thread asks ``due()`` after each batch and sleeps
at most ``idle_timeout()`` so a quiet log still signs its tail in time.
"""

from __future__ import annotations

import time


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

    def signed(self) -> None:
        self.uncheckpointed = 0
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
