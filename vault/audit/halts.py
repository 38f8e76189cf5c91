"""The audit log's halt: after a refused tree head, audited work stops until an operator acts.

A refusal writes an ``audit_halts`` row (and a CRITICAL ``audit.head_refused``
event) in the transaction that tried to sign. While an unresolved row exists,
the log accepts no event: every audited operation, record reads first,
answers 503 (``AuditUnavailable``). ``vault audit resume`` marks the halt
resolved (after the operator restored the database or explained the change);
the next head is checked again, and halts again if the log still does not
extend the last signed head.

A process reads the table when it opens the chain, after each of its own
checkpoints, and on every batch while it is halted; it learns of another
process's halt at its next checkpoint.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect, func, insert, select, true, update

from vault.audit.models import HALTS
from vault.cursor_reads import PreparedQuery

__all__ = ["Halts"]

_OPEN = select(func.count()).select_from(HALTS).where(HALTS.c.resolved == False)  # noqa: E712  (SQL, not Python)


class Halts:
    """Reads and writes the halt table through the chain's cursor."""

    def __init__(self, dialect: Dialect) -> None:
        self._open = PreparedQuery(_OPEN, dialect)
        self._insert = PreparedQuery(insert(HALTS), dialect, [c.key for c in HALTS.columns])
        self._resolve = str(update(HALTS).values(resolved=true()).compile(dialect=dialect))
        # None: not read yet in this process; False stays cached until a checkpoint.
        self._halted: bool | None = None

    def halted(self, cursor: Any, *, fresh: bool = False) -> bool:
        if self._halted is False and not fresh:
            return False
        cursor.execute(self._open.sql, self._open.parameters({}))
        row = cursor.fetchone()
        self._halted = bool(row and int(row[0]))
        return self._halted

    def halt(self, cursor: Any, size: int, problem: str, now: datetime) -> None:
        values = {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "time": now,
            "size": size,
            "problem": problem[:250],
            "resolved": False,
        }
        cursor.execute(self._insert.sql, self._insert.parameters(values))
        self._halted = True

    def resolve(self, cursor: Any) -> None:
        cursor.execute(self._resolve)
        self._halted = False
