"""A bounded, thread-safe memory of answers keyed by their complete input."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

# Remembered answers per memo: a few per (role, action, context).
MEMO_SIZE = 8192
V = TypeVar("V")


class Memo(Generic[V]):
    """Answers remembered by their complete input (a bounded LRU, thread-safe).

    Used for Cedar's answers and for whole decisions. Each is a pure function of
    the policy set (fixed for an engine) and of its key. The facts themselves
    (assignment, consents, break-glass, organisation) are read fresh on every
    request and are part of the key: remembering an answer never remembers a
    fact. Only the evaluation is skipped.
    """

    def __init__(self, size: int = MEMO_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            answer = self._entries.get(key)
            if answer is not None:
                self._entries.move_to_end(key)
            return answer

    def put(self, key: Hashable, answer: V) -> None:
        with self._lock:
            self._entries[key] = answer
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
