"""Tree heads as C2SP checkpoints, signed as C2SP notes, chained by a ``prev`` line.

The note text of a checkpoint (c2sp.org/tlog-checkpoint)::

    <origin>
    <tree size, decimal, no leading zero>
    <root hash, base64>
    prev <previous tree size> <previous root hash, base64>
    [more extension lines]

Every head the vault signs carries exactly one ``prev`` extension line naming
the head it signed before (the first head names the empty tree:
``prev 0 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=``), so the signed heads form a
chain that anyone can walk. :class:`HeadSigner` signs a new head only after
checking, with a consistency proof, that the new tree extends the previous
signed one: the vault never signs a rewritten log.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from vault.errors import SignatureInvalid
from vault.transparency.errors import InconsistentHead, NoteMalformed, ProofInvalid
from vault.transparency.hashing import EMPTY_ROOT, HASH_SIZE
from vault.transparency.merkle import verify_consistency
from vault.transparency.note import (
    ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    VerifierKey,
    b64decode_strict,
    b64encode,
    check_note_text,
    open_note,
    sign_text,
)

MAX_TREE_SIZE = 2**64 - 1
PREV = "prev"
TIME = "time"
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A tree size and its root hash (public values)."""

    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteMalformed("a tree size is between 0 and 2**64 - 1")
        if len(self.root) != HASH_SIZE:
            raise NoteMalformed("a root hash is 32 bytes")
        if self.size == 0 and self.root != EMPTY_ROOT:
            raise NoteMalformed("the empty tree's root is SHA-256 of nothing")


EMPTY_HEAD = TreeHead(0, EMPTY_ROOT)


def _decimal(text: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise NoteMalformed("a size is decimal without leading zeros")
    value = int(text)
    if value > MAX_TREE_SIZE:
        raise NoteMalformed("a tree size is at most 2**64 - 1")
    return value


def prev_line(head: TreeHead) -> str:
    """The extension line naming the previous signed head."""
    return f"{PREV} {head.size} {b64encode(head.root)}"


def _parse_prev(line: str) -> TreeHead:
    parts = line.split(" ")
    if len(parts) != 3 or parts[0] != PREV:
        raise NoteMalformed("a prev line is 'prev <size> <base64 root>'")
    return TreeHead(_decimal(parts[1]), b64decode_strict(parts[2], size=HASH_SIZE))


def time_line(seconds: int) -> str:
    """The extension line stating when a head was signed (POSIX seconds)."""
    return f"{TIME} {seconds}"


def _parse_time(line: str) -> int:
    parts = line.split(" ")
    if len(parts) != 2 or parts[0] != TIME:
        raise NoteMalformed("a time line is 'time <POSIX seconds>'")
    value = _decimal(parts[1])
    if value >= 2**63:
        raise NoteMalformed("a time is below 2**63 seconds")
    return value


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A log's tree head at one size: origin, size, root and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        TreeHead(self.size, self.root)  # validates size and root
        for line in (self.origin, *self.extensions):
            if not line or "\n" in line:
                raise NoteMalformed("the origin and extension lines are non-empty single lines")
        check_note_text(self.text())
        if sum(1 for line in self.extensions if line.split(" ", 1)[0] == PREV) > 1:
            raise NoteMalformed("a checkpoint names at most one previous head")
        for line in self.extensions:
            if line.split(" ", 1)[0] == PREV:
                _parse_prev(line)
        times = [line for line in self.extensions if line.split(" ", 1)[0] == TIME]
        if len(times) > 1:
            raise NoteMalformed("a checkpoint names at most one signing time")
        for line in times:
            _parse_time(line)

    @property
    def head(self) -> TreeHead:
        return TreeHead(self.size, self.root)

    @property
    def previous(self) -> TreeHead | None:
        """The head named by the ``prev`` line, if there is one."""
        for line in self.extensions:
            if line.split(" ", 1)[0] == PREV:
                return _parse_prev(line)
        return None

    @property
    def time(self) -> int | None:
        """When the head was signed (POSIX seconds, its ``time`` line), if it says."""
        for line in self.extensions:
            if line.split(" ", 1)[0] == TIME:
                return _parse_time(line)
        return None

    def text(self) -> str:
        """The note text: one line each, every line ending in a newline."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Read a checkpoint's note text strictly."""
        check_note_text(text)
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteMalformed("a checkpoint has an origin, a size and a root hash")
        origin, size, root, *extensions = lines
        return cls(
            origin, _decimal(size), b64decode_strict(root, size=HASH_SIZE), tuple(extensions)
        )


@dataclass(frozen=True, slots=True)
class OpenedCheckpoint:
    """A checkpoint whose note verified, with the known keys that signed it."""

    checkpoint: Checkpoint
    note: Note
    signers: tuple[VerifierKey, ...]

    def signed_by(self, name: str) -> bool:
        return any(key.name == name for key in self.signers)


def open_checkpoint(
    note: str | bytes | Note, keys: Iterable[VerifierKey], verifier: Ed25519Verifier
) -> OpenedCheckpoint:
    """Parse a signed checkpoint and verify it against ``keys`` (see :func:`open_note`)."""
    parsed = note if isinstance(note, Note) else Note.parse(note)
    checkpoint = Checkpoint.parse(parsed.text)
    return OpenedCheckpoint(checkpoint, parsed, open_note(parsed, keys, verifier))


def check_consistent(old: TreeHead, new: TreeHead, proof: Sequence[bytes]) -> None:
    """Raise :class:`InconsistentHead` unless ``new`` extends ``old`` (``proof`` from old to new).

    A larger tree must come with a valid RFC 9162 consistency proof; the same
    size needs the same root and no proof; every tree extends the empty one
    (no proof). A smaller tree never extends a larger one.
    """
    if new.size < old.size:
        raise InconsistentHead(f"a tree of size {new.size} is smaller than size {old.size}")
    if old.size == 0:
        if proof:
            raise InconsistentHead("no proof is needed, or accepted, from the empty tree")
        return
    try:
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except ProofInvalid as exc:
        raise InconsistentHead(
            f"the tree of size {new.size} does not extend the tree of size {old.size}: {exc.detail}"
        ) from None


def check_follows(previous: Checkpoint, new: Checkpoint, proof: Sequence[bytes]) -> None:
    """``new`` is the next link after ``previous``: same log, names it, and extends it."""
    if new.origin != previous.origin:
        raise InconsistentHead("the two heads are of different logs")
    if new.previous != previous.head:
        raise InconsistentHead("the new head does not name the previous one")
    check_consistent(previous.head, new.head, proof)


class HeadSigner:
    """Signs the log's tree heads, each only after checking it extends the one before.

    The key's name is the log's origin. It also remembers the largest head it
    signed in this process and refuses a "previous" head older than that
    (a rolled-back store).
    """

    __slots__ = ("_latest", "_signer", "key", "origin")

    def __init__(self, origin: str, signer: Ed25519Signer) -> None:
        self.origin = origin
        self._signer = signer
        self.key = VerifierKey(origin, signer.public_key, ED25519)
        self._latest: TreeHead | None = None

    def _sign(self, head: TreeHead, previous: TreeHead, extensions: Sequence[str]) -> str:
        if any(line.split(" ", 1)[0] == PREV for line in extensions):
            raise NoteMalformed("the prev line is the signer's to write")
        checkpoint = Checkpoint(
            self.origin, head.size, head.root, (prev_line(previous), *extensions)
        )
        signature = sign_text(checkpoint.text(), self.origin, self._signer)
        self._latest = head
        return Note(checkpoint.text(), (signature,)).render()

    def sign_first(self, size: int, root: bytes, extensions: Sequence[str] = ()) -> str:
        """The first head of the log; its ``prev`` line names the empty tree."""
        if self._latest is not None:
            raise InconsistentHead("this signer has signed a head: sign the next one after it")
        return self._sign(TreeHead(size, root), EMPTY_HEAD, extensions)

    def sign_next(
        self,
        previous_head: str | bytes | Note,
        new_size: int,
        new_root: bytes,
        proof: Sequence[bytes],
        extensions: Sequence[str] = (),
    ) -> str:
        """Sign (new_size, new_root) after ``previous_head``, or raise :class:`InconsistentHead`.

        ``previous_head`` must carry this signer's own valid signature
        (:class:`SignatureInvalid` otherwise) and ``proof`` must prove the new
        tree extends it; nothing is signed unless both hold.
        """
        try:
            previous = open_checkpoint(previous_head, [self.key], self._signer).checkpoint
        except NoteMalformed:
            raise SignatureInvalid("The previous head's signature does not verify.") from None
        if previous.origin != self.origin:
            raise InconsistentHead("the previous head is another log's")
        latest = self._latest
        if latest is not None and previous.size < latest.size:
            raise InconsistentHead(
                f"the previous head (size {previous.size}) is older than the latest this "
                f"signer signed (size {latest.size}): refusing to sign after a rollback"
            )
        new = TreeHead(new_size, new_root)
        try:
            check_consistent(previous.head, new, proof)
        except InconsistentHead as exc:
            raise InconsistentHead(f"refusing to sign: {exc.detail}") from None
        return self._sign(new, previous.head, extensions)
