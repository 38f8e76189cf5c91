"""The signed heads as `vault audit verify` checks them: a whole chain, and fresh enough.

Every head names the one before (its ``prev`` line): the first names the
empty tree, each next one the previous row exactly, and every note verifies
under the log's keys. Each step is also proved consistent from the stored
tree. Every head signs its time (a ``time`` line): the
row's time must be that time, and no head is signed before the one before it.
The newest head must be younger than ``audit_head_max_age_seconds`` and
no more than ``audit_head_max_lag`` events behind the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vault.audit.cosign import cosigners
from vault.audit.heads import HeadKeeper
from vault.audit.tree import CursorNodeStore, NodeStatements
from vault.errors import SignatureInvalid
from vault.transparency import (
    EMPTY_HEAD,
    InconsistentHead,
    NoteMalformed,
    VerifierKey,
    check_consistent,
    consistency_proof,
    open_checkpoint,
)

__all__ = ["HeadChainReport", "check_heads"]

_ALL = "SELECT size, note, time FROM audit_heads ORDER BY size"
_EVENTS = "SELECT count(*) FROM audit_events"


def _stamp(moment: Any) -> datetime:
    """A stored time as an aware datetime (SQLite hands back text without a zone)."""
    stamp = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def _age(now: datetime, moment: datetime) -> float:
    return (now - moment).total_seconds()


def _signed_time(size: int, stored: Any, signed: int | None, before: datetime | None) -> datetime:
    """The head's signed time, checked against its row and the head before; or ``_Broken``."""
    if signed is None:
        raise _Broken(f"the head of size {size} does not sign its time")
    moment = datetime.fromtimestamp(signed, UTC)
    if _stamp(stored) != moment:
        raise _Broken(
            f"the head of size {size} was re-dated: its stored time is not the signed one"
        )
    if before is not None and moment < before:
        raise _Broken(f"the head of size {size} is signed at a time before the head before it")
    return moment


class _Broken(Exception):
    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class HeadChainReport:
    ok: bool
    heads: int
    problem: str | None = None


def check_heads(
    engine: Any,
    keeper: HeadKeeper,
    now: datetime,
    *,
    max_age_seconds: float,
    max_lag: int,
    witnesses: Sequence[VerifierKey] = (),
    quorum: int = 0,
    witness_seconds: float = 3600.0,
) -> HeadChainReport:
    """Walk every signed head; then the newest one's age and lag."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(_ALL)
        rows = cursor.fetchall()
        cursor.execute(_EVENTS)
        events = int(cursor.fetchone()[0])
        store = CursorNodeStore(cursor, NodeStatements(engine.dialect))
        keys, signer = keeper.keys(), keeper.note_signer()
        previous = EMPTY_HEAD
        newest_time: datetime | None = None
        # The newest head whose witnesses' time is up (a cosignature of it vouches for
        # every head before it: the witness checked consistency from its last one).
        due: tuple[int, int] | None = None
        notes: list[str] = []
        for size, note, moment in rows:
            try:
                checkpoint = open_checkpoint(str(note), keys, signer).checkpoint
            except (SignatureInvalid, NoteMalformed):
                return HeadChainReport(False, len(rows), f"the head of size {size} does not verify")
            if checkpoint.size != int(size) or checkpoint.previous != previous:
                return HeadChainReport(
                    False, len(rows), f"a head is missing before the head of size {size}"
                )
            try:
                proof = (
                    consistency_proof(store, previous.size, checkpoint.size)
                    if previous.size
                    else []
                )
                check_consistent(previous, checkpoint.head, proof)
            except (InconsistentHead, KeyError):
                return HeadChainReport(
                    False, len(rows), f"the head of size {size} does not extend the one before"
                )
            try:
                signed_at = _signed_time(int(size), moment, checkpoint.time, newest_time)
            except _Broken as broken:
                return HeadChainReport(False, len(rows), broken.problem)
            previous, newest_time = checkpoint.head, signed_at
            notes.append(str(note))
            if _age(now, signed_at) > witness_seconds:
                due = (int(size), len(notes) - 1)
        connection.rollback()
        # The due head, or any later one, cosigned by a quorum.
        cosigned = quorum
        if quorum and due is not None:
            cosigned = max(cosigners(note, witnesses, signer) for note in notes[due[1] :])
    finally:
        connection.close()
    if not rows:
        return HeadChainReport(events == 0, 0, None if events == 0 else "no signed tree head")
    if due is not None and cosigned < quorum:
        return HeadChainReport(
            False,
            len(rows),
            f"the head of size {due[0]} (or a later one) has {cosigned} of {quorum} witness "
            "cosignatures: none arrived in time",
        )
    if newest_time is not None and _age(now, newest_time) > max_age_seconds:
        return HeadChainReport(False, len(rows), "the newest signed tree head is too old")
    if events - previous.size > max_lag:
        return HeadChainReport(
            False, len(rows), f"{events - previous.size} events were appended after the newest head"
        )
    return HeadChainReport(True, len(rows))
