"""Signed tree heads: C2SP checkpoints over the audit tree, each naming the one before.

The vault signs a head only after proving, from its own stored data, that the
new tree extends the last head it signed (``audit_heads``, newest row):

1. the last head's signature verifies under one of the vault's published keys;
2. the stored tree at the last head's size has the signed root;
3. the event at the last head's size still has the chain hash of its leaf, and
   every event since links to the one before (prev_hash) and hashes to its
   chain hash: recomputing the tree from the last head over those events gives
   the root the stored nodes give at the new size;
4. the RFC 9162 consistency proof from the stored nodes verifies.

Any failure raises :class:`HeadRefused`: nothing is signed, and the audit log
halts (see ``vault.audit.log``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Dialect, bindparam, insert, select

from vault.audit.canonical import GENESIS_HASH, link_hash
from vault.audit.models import EVENTS, HEADS
from vault.audit.tree import CursorNodeStore, NodeStatements, prove_last_leaf
from vault.cursor_reads import PreparedQuery
from vault.errors import SignatureInvalid
from vault.transparency import (
    ED25519,
    EMPTY_HEAD,
    Checkpoint,
    InconsistentHead,
    Note,
    NoteMalformed,
    ProofInvalid,
    TreeAppender,
    TreeHead,
    VerifierKey,
    check_consistent,
    consistency_proof,
    open_checkpoint,
    sign_text,
    time_line,
    tree_head,
)
from vault.transparency.checkpoint import prev_line

__all__ = ["DEFAULT_ORIGIN", "CheckedHead", "HeadKeeper", "HeadRefused", "NoteSigner", "SignedHead"]

DEFAULT_ORIGIN = "vault.local/audit"


class OneKeySigner(Protocol):
    """A signer of one Ed25519 key (``vault.crypto.signing.Signer``)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...

    def public_jwk(self) -> dict[str, str]: ...


class NoteSigner:
    """The transparency package's ``Ed25519Signer`` over one of the vault's signing keys."""

    __slots__ = ("_signer",)

    def __init__(self, signer: OneKeySigner) -> None:
        self._signer = signer

    @property
    def public_key(self) -> bytes:
        from vault.crypto.signing import b64url_decode

        return b64url_decode(self._signer.public_jwk()["x"])

    def sign(self, message: bytes) -> bytes:
        return self._signer.sign(message)

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        from vault.crypto.signing import b64url, verify_signature

        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key)}
        return verify_signature(jwk, message, signature)


class HeadRefused(Exception):
    """The stored log does not extend the last signed head: the vault signs nothing."""

    def __init__(self, size: int, problem: str) -> None:
        super().__init__(problem)
        self.size = size
        self.problem = problem[:250]


@dataclass(frozen=True)
class SignedHead:
    size: int
    root: bytes
    time: datetime
    key_id: str
    note: str


_LAST = (
    select(HEADS.c.size, HEADS.c.root, HEADS.c.time, HEADS.c.key_id, HEADS.c.note)
    .order_by(HEADS.c.size.desc())
    .limit(1)
)
_SINCE = (
    select(EVENTS.c.seq, EVENTS.c.prev_hash, EVENTS.c.canonical, EVENTS.c.hash)
    .where(EVENTS.c.seq >= bindparam("first"), EVENTS.c.seq < bindparam("below"))
    .order_by(EVENTS.c.seq)
)
# Events read at a time when a head is recomputed: memory stays bounded however long
# the log grew since the last signed head (a bulk import, a long signing pause).
RECOMPUTE_CHUNK = 20_000


class _EdgeOnly:
    """A node store for a recomputation: reads stored nodes, keeps none it is given."""

    __slots__ = ("_store",)

    def __init__(self, store: CursorNodeStore) -> None:
        self._store = store

    def get(self, level: int, index: int) -> bytes:
        return self._store.get(level, index)

    def put(self, level: int, index: int, node: bytes) -> None:
        """Dropped: the recomputed tree is compared, never stored."""


@dataclass(frozen=True)
class CheckedHead:
    """A new tree head proved consistent with the last signed one, not yet signed."""

    previous: TreeHead
    new: TreeHead


def head_of(row: Any) -> SignedHead:
    return SignedHead(int(row[0]), bytes(row[1]), row[2], str(row[3]), str(row[4]))


class HeadKeeper:
    """Checks the audit tree's heads (in a snapshot or under the chain's lock) and signs them."""

    def __init__(
        self,
        dialect: Dialect,
        signer: Any,
        *,
        origin: str = DEFAULT_ORIGIN,
        clock: Callable[[], datetime],
    ) -> None:
        self.origin = origin
        self._signer = signer
        self._clock = clock
        self._nodes = NodeStatements(dialect)
        self._last = PreparedQuery(_LAST, dialect)
        self._since = PreparedQuery(_SINCE, dialect)
        self._insert = PreparedQuery(insert(HEADS), dialect, [c.key for c in HEADS.columns])

    def current_key(self) -> OneKeySigner:
        current = getattr(self._signer, "current", None)
        signer: OneKeySigner = current() if callable(current) else self._signer
        return signer

    def note_signer(self) -> NoteSigner:
        return NoteSigner(self.current_key())

    def current_vkey(self) -> VerifierKey:
        return VerifierKey(self.origin, NoteSigner(self.current_key()).public_key, ED25519)

    def keys(self) -> list[VerifierKey]:
        """The log's verifier keys: every published signing key, under the log's name."""
        from vault.crypto.signing import b64url_decode

        published = getattr(self._signer, "verification_keys", None)
        jwks: Sequence[Mapping[str, str]] = (
            published() if callable(published) else [self.current_key().public_jwk()]
        )
        return [VerifierKey(self.origin, b64url_decode(jwk["x"]), ED25519) for jwk in jwks]

    def last(self, cursor: Any) -> SignedHead | None:
        cursor.execute(self._last.sql, self._last.parameters({}))
        row = cursor.fetchone()
        return None if row is None else head_of(row)

    def trusted(self, cursor: Any) -> TreeHead:
        """The last signed head, after checking its signature (EMPTY_HEAD if none)."""
        last = self.last(cursor)
        if last is None:
            return EMPTY_HEAD
        signer = NoteSigner(self.current_key())
        try:
            checkpoint = open_checkpoint(last.note, self.keys(), signer).checkpoint
        except (SignatureInvalid, NoteMalformed):
            raise HeadRefused(last.size, "the last signed head does not verify") from None
        if checkpoint.origin != self.origin or checkpoint.head != TreeHead(last.size, last.root):
            raise HeadRefused(last.size, "the last signed head's row differs from its note")
        return checkpoint.head

    def check(self, cursor: Any, size: int) -> tuple[TreeHead, TreeHead, list[bytes]]:
        """(last signed head, the stored tree's head at ``size``, proof), or HeadRefused."""
        previous = self.trusted(cursor)
        store = CursorNodeStore(cursor, self._nodes)
        if size < previous.size:
            raise HeadRefused(
                size, f"the log has {size} events, fewer than the signed {previous.size}"
            )
        try:
            if previous.size and tree_head(store, previous.size) != previous.root:
                raise HeadRefused(size, "the stored tree differs from the last signed head")
            recomputed = self._recompute(cursor, store, previous, size)
            stored = tree_head(store, size)
        except KeyError:
            raise HeadRefused(size, "nodes of the stored tree are missing") from None
        if recomputed != stored:
            raise HeadRefused(size, "the events since the last head do not give the stored tree")
        new = TreeHead(size, stored)
        proof = consistency_proof(store, previous.size, size) if previous.size else []
        try:
            check_consistent(previous, new, proof)
        except InconsistentHead:
            raise HeadRefused(size, "the new tree does not extend the last signed head") from None
        return previous, new, proof

    def _recompute(
        self, cursor: Any, store: CursorNodeStore, previous: TreeHead, size: int
    ) -> bytes:
        """The root at ``size`` recomputed from the last head and the events since."""
        # Only the root is wanted: the scratch tree keeps its right edge, nothing it writes.
        appender = TreeAppender(_EdgeOnly(store), previous.size)
        prev_hash, expected = GENESIS_HASH, max(previous.size, 1)
        while expected <= size:
            first = expected
            params = {"first": first, "below": min(first + RECOMPUTE_CHUNK, size + 1)}
            cursor.execute(self._since.sql, self._since.parameters(params))
            hashes: list[bytes] = []
            for seq, row_prev, canonical, digest in cursor.fetchall():
                row_prev, digest = bytes(row_prev), bytes(digest)
                if int(seq) != expected or link_hash(row_prev, bytes(canonical)) != digest:
                    raise HeadRefused(size, f"event {expected} is missing or does not hash")
                if seq == previous.size:
                    # The newest event under the last head: its leaf is in the signed root.
                    try:
                        prove_last_leaf(store, previous.size, previous.root, _leaf_hash(digest))
                    except ProofInvalid:
                        raise HeadRefused(
                            size, f"event {seq} is not the one the last head signed"
                        ) from None
                else:
                    if row_prev != prev_hash:
                        raise HeadRefused(size, f"event {seq} does not follow the one before")
                    hashes.append(digest)
                prev_hash, expected = digest, expected + 1
            if expected == first:
                break  # a gap: reported below
            appender.append(hashes)
        if expected - 1 != size:
            raise HeadRefused(size, "the log's events do not reach its head")
        return appender.root()

    def sign(self, cursor: Any, size: int, now: datetime) -> SignedHead | None:
        """Check, then sign and store the head at ``size`` (None when it is already signed)."""
        return self._store(cursor, self.precheck(cursor, size), now)

    def precheck(self, cursor: Any, size: int) -> CheckedHead:
        """``check``'s heads: in a snapshot without the chain's lock, the head to sign later."""
        previous, new, _ = self.check(cursor, size)
        return CheckedHead(previous, new)

    def sign_checked(self, cursor: Any, checked: CheckedHead, now: datetime) -> bool:
        """Sign a prechecked head, inside the chain's locked transaction.

        Only while the newest signed head is still the one the check started from:
        then ``checked.new`` is a root recomputed from events consistent with it, and
        it is signed as recomputed, whatever was written since. False when another
        head was signed meanwhile (the caller checks again, under the lock).
        """
        last = self.last(cursor)
        newest = EMPTY_HEAD if last is None else TreeHead(last.size, last.root)
        if newest != checked.previous:
            return False
        self._store(cursor, checked, now)
        return True

    def _store(self, cursor: Any, checked: CheckedHead, now: datetime) -> SignedHead | None:
        """Sign and insert ``checked.new`` (None when there is nothing new to sign)."""
        previous, new = checked.previous, checked.new
        if new.size == previous.size and previous.size:
            return None
        if new.size == 0:
            return None
        key = self.current_key()
        # The time is signed (to the second) and stored as signed: a head cannot be re-dated.
        moment = self._clock().replace(microsecond=0)
        extensions = (prev_line(previous), time_line(int(moment.timestamp())))
        checkpoint = Checkpoint(self.origin, new.size, new.root, extensions)
        text = checkpoint.text()
        note = Note(text, (sign_text(text, self.origin, NoteSigner(key)),)).render()
        head = SignedHead(new.size, new.root, moment, key.key_id, note)
        values = {
            "id": uuid.uuid4(),
            "created_at": now,
            "updated_at": now,
            "size": head.size,
            "root": head.root,
            "time": head.time,
            "key_id": head.key_id,
            "note": head.note,
            "verified_at": None,
        }
        cursor.execute(self._insert.sql, self._insert.parameters(values))
        return head


def _leaf_hash(chain_hash: bytes) -> bytes:
    from vault.transparency import hash_leaf

    return hash_leaf(chain_hash)
