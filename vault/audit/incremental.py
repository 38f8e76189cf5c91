"""Verification of the audit log from the last verified signed head forward.

A full walk of a million events costs seconds; most of them were checked by
the verification before. Each verification that passes marks the newest
signed head it reached (``audit_heads.verified_at``); the next one starts at
the newest marked head H (size n) and costs O(events after H + log n):

1. H's note verifies under the log's keys and its row names the same root;
2. event n hashes to its chain hash, and that chain hash's leaf is in H's
   signed root (an inclusion proof from the stored nodes): the events up to n
   are the ones H signed, through the hash chain;
3. the walk of ``vault.audit.verify`` from event n + 1 on, with the newest
   signed head's leaf checked the same way where the walk reaches it.

A rewrite before H that keeps the chain hash of event n (one event re-hashed
alone, its successor's ``prev_hash`` left stale) is found only by the full walk
(``full=True``); a rewrite that re-hashes the chain onwards changes event n's
chain hash and fails step 2. A database writer who marks a head as verified
only moves where the next incremental verification starts; ``--full`` is
the answer to that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from vault.audit.canonical import GENESIS_HASH, link_hash
from vault.audit.checkpoints import Checkpoint
from vault.audit.heads import HeadKeeper
from vault.audit.models import EVENTS, HEADS
from vault.audit.tree import CursorNodeStore, NodeStatements, prove_last_leaf
from vault.audit.verify import VerifyReport, partial_report, verify_chain
from vault.db import utcnow
from vault.errors import SignatureInvalid
from vault.transparency import (
    NoteMalformed,
    ProofInvalid,
    hash_leaf,
    open_checkpoint,
)

__all__ = ["verify_from_head"]

_HEADS = select(HEADS.c.size, HEADS.c.root, HEADS.c.note, HEADS.c.verified_at).order_by(
    HEADS.c.size
)


class _Refused(Exception):
    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def verify_from_head(
    engine: Engine,
    keeper: HeadKeeper | None,
    *,
    public_keys: Sequence[Mapping[str, str]] = (),
    pinned: Iterable[Checkpoint] = (),
    full: bool = False,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> VerifyReport:
    """Verify from the last verified head (everything when ``full``); mark the newest head."""
    if keeper is None:  # a key that signs no tree heads: the chain and checkpoints only
        return verify_chain(engine, public_keys=public_keys, pinned=pinned, progress=progress)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            since, since_hash, leaves, newest = _start(cursor, engine, keeper, full)
        except _Refused as refused:
            return partial_report(refused.seq, False)(
                ok=False,
                events=0,
                checkpoints=0,
                first_bad_seq=refused.seq,
                problem=refused.problem,
            )
        finally:
            connection.rollback()
    finally:
        connection.close()
    report = verify_chain(
        engine,
        public_keys=public_keys,
        pinned=pinned,
        progress=progress,
        since=since,
        since_hash=since_hash,
        leaves=leaves,
    )
    if report.ok and newest:
        with engine.begin() as conn:
            conn.execute(
                update(HEADS).where(HEADS.c.size == newest).values(verified_at=now or utcnow())
            )
    return report


def _start(
    cursor: Any, engine: Engine, keeper: HeadKeeper, full: bool
) -> tuple[int, bytes, dict[int, bytes], int]:
    """(since, its chain hash, {seq: signed leaf}, newest head size) after checking the heads."""
    from vault.cursor_reads import PreparedQuery

    query = PreparedQuery(_HEADS, engine.dialect)
    cursor.execute(query.sql, query.parameters({}))
    rows = cursor.fetchall()
    if not rows:
        return 0, GENESIS_HASH, {}, 0
    store = CursorNodeStore(cursor, NodeStatements(engine.dialect))
    marked = [row for row in rows if row[3] is not None]
    start = None if full or not marked else marked[-1]
    newest = rows[-1]
    leaves: dict[int, bytes] = {}
    since, since_hash = 0, GENESIS_HASH
    if start is not None:
        since = int(start[0])
        leaf = _signed_leaf(cursor, store, keeper, start)
        event = PreparedQuery(
            select(EVENTS.c.prev_hash, EVENTS.c.canonical, EVENTS.c.hash).where(
                EVENTS.c.seq == since
            ),
            engine.dialect,
        )
        cursor.execute(event.sql, event.parameters({}))
        found = cursor.fetchone()
        since_hash = b"" if found is None else bytes(found[2])
        if (
            found is None
            or link_hash(bytes(found[0]), bytes(found[1])) != since_hash
            or hash_leaf(since_hash) != leaf
        ):
            raise _Refused(
                since,
                f"the events up to seq {since} differ from the signed tree head of size {since}: "
                "the log was rewritten before the last verified head",
            )
    if int(newest[0]) > since:
        leaves[int(newest[0])] = _signed_leaf(cursor, store, keeper, newest)
    return since, since_hash, leaves, int(newest[0])


def _signed_leaf(cursor: Any, store: CursorNodeStore, keeper: HeadKeeper, row: Any) -> bytes:
    """The last leaf of a signed head, proved from the stored nodes against its signed root."""
    size, root, note = int(row[0]), bytes(row[1]), str(row[2])
    problem = f"the stored tree differs from the signed tree head of size {size}"
    try:
        checkpoint = open_checkpoint(note, keeper.keys(), keeper.note_signer()).checkpoint
    except (SignatureInvalid, NoteMalformed):
        raise _Refused(size, f"the signed tree head of size {size} does not verify") from None
    if checkpoint.size != size or checkpoint.root != root or checkpoint.origin != keeper.origin:
        raise _Refused(
            size, f"the row of the signed tree head of size {size} differs from its note"
        )
    try:
        leaf = store.get(0, size - 1)
        prove_last_leaf(store, size, root, leaf)
    except (KeyError, ProofInvalid):
        raise _Refused(size, problem) from None
    return leaf
