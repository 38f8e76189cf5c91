"""Stand-ins for the audit tests.

``HmacSigner``: a checkpoint signer for tests that do not need real Ed25519
(HMAC-SHA256 from the standard library satisfies ``CheckpointSigner`` and the
verifier signature). ``InterceptedLog``: an audit log a test can stall or fail
inside its write transaction. ``audit_writes_refused``: the database itself
refuses audit rows, for end-to-end tests of failing closed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import text

from vault.audit.canonical import decode, encode, link_hash
from vault.audit.chain import Head
from vault.audit.events import AuditEvent
from vault.audit.log import AuditLog
from vault.db import Database
from vault.transparency import hash_leaf


class HmacSigner:
    def __init__(self, secret: bytes = b"audit-test-key", key_id: str = "test-key-1") -> None:
        self._secret = secret
        self.key_id = key_id
        self.signed = 0

    def sign(self, data: bytes) -> bytes:
        self.signed += 1
        return hmac.new(self._secret, data, hashlib.sha256).digest()

    def public_jwk(self) -> dict[str, str]:
        return {"kty": "test-hmac", "kid": self.key_id, "k": self._secret.hex()}


def hmac_verifier(jwk: Mapping[str, str], data: bytes, signature: bytes) -> bool:
    expected = hmac.new(bytes.fromhex(jwk["k"]), data, hashlib.sha256).digest()
    return hmac.compare_digest(expected, signature)


class InterceptedLog(AuditLog):
    """An ``AuditLog`` that calls ``before_commit(cursor)`` inside each write transaction,
    after the batch's rows are inserted: a test counts commits, stalls or fails them there."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_commit: Callable[[Any], object] | None = None

    def _append_batch(self, cursor: Any, head: Head, events: Sequence[AuditEvent]) -> Head:
        new_head = super()._append_batch(cursor, head, events)
        if self.before_commit is not None:
            self.before_commit(cursor)
        return new_head


_REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_audit_inserts BEFORE INSERT ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'disk full'); END",
)
_REFUSE_POSTGRES = (
    "CREATE FUNCTION refuse_audit_insert() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$",
    "CREATE TRIGGER refuse_audit_inserts BEFORE INSERT ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION refuse_audit_insert()",
)
_ALLOW_SQLITE = ("DROP TRIGGER refuse_audit_inserts",)
_ALLOW_POSTGRES = (
    "DROP TRIGGER refuse_audit_inserts ON audit_events",
    "DROP FUNCTION refuse_audit_insert()",
)


@contextmanager
def audit_writes_refused(db: Database) -> Iterator[None]:
    """While inside, the database itself refuses every audit event (as a full disk would)."""
    refuse, allow = (
        (_REFUSE_SQLITE, _ALLOW_SQLITE) if db.is_sqlite else (_REFUSE_POSTGRES, _ALLOW_POSTGRES)
    )
    with db.engine.begin() as conn:
        for statement in refuse:
            conn.exec_driver_sql(statement)
    try:
        yield
    finally:
        with db.engine.begin() as conn:
            for statement in allow:
                conn.exec_driver_sql(statement)


def rewrite_and_rehash(db: Database, seq: int, *, nodes: bool) -> None:
    """Change event ``seq``'s purpose, recompute the chain after it (and the tree, if asked)."""
    with db.engine.begin() as conn:
        canonical = conn.execute(
            text("SELECT canonical FROM audit_events WHERE seq = :s"), {"s": seq}
        ).scalar_one()
        document = decode(bytes(canonical))
        document["purpose"] = "statistics"
        conn.execute(
            text("UPDATE audit_events SET canonical = :c WHERE seq = :s"),
            {"c": encode(document), "s": seq},
        )
        rows = conn.execute(
            text("SELECT seq, prev_hash, canonical FROM audit_events ORDER BY seq")
        ).all()
        prev = bytes(rows[0][1])
        hashes = []
        for row_seq, _, row_canonical in rows:
            digest = link_hash(prev, bytes(row_canonical))
            conn.execute(
                text("UPDATE audit_events SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": row_seq},
            )
            hashes.append(digest)
            prev = digest
        if nodes:
            conn.execute(text("DELETE FROM audit_nodes"))
            level_nodes = [hash_leaf(h) for h in hashes]
            level = 0
            while level_nodes:
                for index, node in enumerate(level_nodes):
                    conn.execute(
                        text("INSERT INTO audit_nodes (level, idx, hash) VALUES (:l, :i, :h)"),
                        {"l": level, "i": index, "h": node},
                    )
                level_nodes = [
                    hashlib.sha256(b"\x01" + a + b).digest()
                    for a, b in zip(level_nodes[::2], level_nodes[1::2], strict=False)
                ]
                level += 1
