"""Proofs from the stored audit tree, in the JSON that ``tools/verify_log.py`` reads.

An inclusion proof bundle::

    {"log_key": "<vkey>", "head": "<signed checkpoint note>",
     "inclusion": {"event": {"canonical": "<base64>", "prev_hash": "<base64>"},
                   "index": seq - 1, "size": <head size>, "path": ["<base64>", ...]}}

A consistency proof bundle::

    {"log_key": "<vkey>", "head": "<newer signed note>",
     "consistency": {"old_head": "<older signed note>", "proof": ["<base64>", ...]}}

Each proof reads O(log n) stored nodes (plus one event for inclusion).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, bindparam, select

from vault.audit.heads import HeadKeeper, SignedHead, head_of
from vault.audit.log import AuditLog
from vault.audit.models import EVENTS, HEADS
from vault.audit.tree import CursorNodeStore, NodeStatements
from vault.cursor_reads import PreparedQuery
from vault.errors import InvalidInput, NotFound
from vault.transparency import consistency_proof, inclusion_proof

__all__ = ["ProofSource", "proofs_of"]

_COLUMNS = (HEADS.c.size, HEADS.c.root, HEADS.c.time, HEADS.c.key_id, HEADS.c.note)
_COVERING = select(*_COLUMNS).where(HEADS.c.size >= bindparam("size")).order_by(HEADS.c.size.desc())
_AT = select(*_COLUMNS).where(HEADS.c.size == bindparam("size"))
_EVENT = select(EVENTS.c.canonical, EVENTS.c.prev_hash).where(EVENTS.c.seq == bindparam("seq"))


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _item(row: Any, seq: int, size: int, store: CursorNodeStore) -> dict[str, Any]:
    """One event's inclusion proof, as ``tools/verify_log.py`` reads it."""
    return {
        "event": {"canonical": _b64(bytes(row[0])), "prev_hash": _b64(bytes(row[1]))},
        "index": seq - 1,
        "size": size,
        "path": [_b64(node) for node in inclusion_proof(store, seq - 1, size)],
    }


def proofs_of(audit: AuditLog, seqs: Sequence[int]) -> dict[str, Any] | None:
    """Inclusion proofs of these events (a subject's disclosures) against a signed head.

    Signs a head first if the newest signed one does not cover them all; None
    when the vault's key signs no tree heads.
    """
    keeper = audit.heads()
    if keeper is None:
        return None
    source = ProofSource(audit.engine, keeper)
    bundle = source.inclusions(seqs)
    if bundle is None or len(bundle["inclusions"]) < len(seqs):
        audit.checkpoint_now()
        bundle = source.inclusions(seqs)
    return bundle


class ProofSource:
    """Reads signed heads, events and nodes to answer proofs."""

    def __init__(self, engine: Engine, keeper: HeadKeeper) -> None:
        self._engine = engine
        self._keeper = keeper
        dialect = engine.dialect
        self._nodes = NodeStatements(dialect)
        self._covering = PreparedQuery(_COVERING.limit(1), dialect)
        self._at = PreparedQuery(_AT, dialect)
        self._event = PreparedQuery(_EVENT, dialect)

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()
                connection.rollback()
        finally:
            connection.close()

    def log_key(self) -> str:
        """The log's current verifier key (vkey), as ``tools/verify_log.py`` reads it."""
        return str(self._keeper.current_vkey())

    def _head(self, cursor: Any, query: PreparedQuery, size: int) -> SignedHead | None:
        cursor.execute(query.sql, query.parameters({"size": size}))
        row = cursor.fetchone()
        return None if row is None else head_of(row)

    def latest(self) -> SignedHead:
        with self._cursor() as cursor:
            head = self._keeper.last(cursor)
        if head is None:
            raise NotFound("No tree head has been signed yet.")
        return head

    def inclusion(self, seq: int) -> dict[str, Any]:
        """The proof that event ``seq`` is in the newest signed head."""
        if seq < 1:
            raise NotFound("No such audit event.")
        with self._cursor() as cursor:
            head = self._keeper.last(cursor)
            if head is None or head.size < seq:
                raise NotFound("No signed tree head covers that event yet.")
            cursor.execute(self._event.sql, self._event.parameters({"seq": seq}))
            row = cursor.fetchone()
            if row is None:
                raise NotFound("No such audit event.")
            item = _item(row, seq, head.size, CursorNodeStore(cursor, self._nodes))
        return {"log_key": self.log_key(), "head": head.note, "inclusion": item}

    def inclusions(self, seqs: Sequence[int]) -> dict[str, Any] | None:
        """The proofs of several events against the newest signed head (None if none is).

        Events the head does not cover yet are left out; ``index + 1`` of each
        proof is its event's seq.
        """
        with self._cursor() as cursor:
            head = self._keeper.last(cursor)
            if head is None:
                return None
            store = CursorNodeStore(cursor, self._nodes)
            items = []
            for seq in seqs:
                if not 1 <= seq <= head.size:
                    continue
                cursor.execute(self._event.sql, self._event.parameters({"seq": seq}))
                row = cursor.fetchone()
                if row is not None:
                    items.append(_item(row, seq, head.size, store))
        return {"log_key": self.log_key(), "head": head.note, "inclusions": items}

    def for_witness(self, old_size: int) -> dict[str, Any]:
        """The newest signed head and the consistency proof from ``old_size`` to it.

        What a witness that last cosigned a head of ``old_size`` needs to cosign
        the newest; no proof from size 0, from the same size or from a larger one
        (the witness refuses that head itself).
        """
        with self._cursor() as cursor:
            head = self._keeper.last(cursor)
            if head is None:
                raise NotFound("No tree head has been signed yet.")
            proof: list[bytes] = []
            if 0 < old_size < head.size:
                proof = consistency_proof(CursorNodeStore(cursor, self._nodes), old_size, head.size)
        return {
            "log_key": self.log_key(),
            "head": head.note,
            "size": head.size,
            "old_size": old_size,
            "proof": [_b64(node) for node in proof],
        }

    def consistency(self, old_size: int, new_size: int | None = None) -> dict[str, Any]:
        """The proof that the signed head at ``new_size`` (newest if None) extends ``old_size``."""
        with self._cursor() as cursor:
            new = (
                self._keeper.last(cursor)
                if new_size is None
                else self._head(cursor, self._at, new_size)
            )
            old = self._head(cursor, self._at, old_size)
            if new is None or old is None:
                raise NotFound("No signed tree head of that size.")
            if old.size > new.size:
                raise InvalidInput("The old head is larger than the new one.")
            store = CursorNodeStore(cursor, self._nodes)
            proof = consistency_proof(store, old.size, new.size) if old.size < new.size else []
        return {
            "log_key": self.log_key(),
            "head": new.note,
            "consistency": {"old_head": old.note, "proof": [_b64(node) for node in proof]},
        }
