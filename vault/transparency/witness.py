"""A witness: cosigns a log's checkpoints only while the log stays append-only.

This is the logic of c2sp.org/tlog-witness ``add-checkpoint`` without the HTTP
around it. For each log it follows (an origin and the log's keys) the witness
holds the last head it cosigned. Shown a new signed checkpoint, the size it
last cosigned ("old size") and a consistency proof from that size, it checks
the log's signature and the proof and answers with a ``cosignature/v1``
(c2sp.org/tlog-cosignature, Ed25519, key type 0x04) over the checkpoint; it
refuses a rewritten log, a smaller tree, or another root at the same size.
It also compares the heads' signed times (their ``time`` line): a head signed
before the last one it cosigned (a re-dated head), or more than ``max_skew``
seconds after the witness's clock, is refused (``HeadTimeRefused``, 422). A
head without a time is refused once the witness has cosigned a head with one,
and always when ``require_time`` (what ``vault witness`` does unless told
``--allow-untimed``): otherwise a first contact with an untimed head would let
a log present a head of any age, e.g. one signed before a rewrite.

Each refusal is one of the vault's errors whose status is the one the witness
protocol names: unknown log 404, bad signature 403, old size above the new
size 400, old size not the witness's latest 409 (carrying the latest size),
inconsistent checkpoint 422, a refused signed time 422.

The caller persists :meth:`Witness.state` after every cosignature, atomically
with the check (two concurrent requests must not both pass against one state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from vault.errors import SignatureInvalid
from vault.transparency.checkpoint import (
    EMPTY_HEAD,
    TreeHead,
    check_consistent,
    open_checkpoint,
)
from vault.transparency.errors import (
    HeadTimeRefused,
    NoteMalformed,
    OldSizeTooLarge,
    StaleOldSize,
    UnknownLog,
    UntrustedCheckpoint,
)
from vault.transparency.hashing import HASH_SIZE
from vault.transparency.note import (
    COSIGNATURE_V1,
    Ed25519Signer,
    Note,
    VerifierKey,
    b64decode_strict,
    b64encode,
    cosign_text,
)

MAX_PROOF_LINES = 63
# How far ahead of the witness's clock a head's signed time may be (seconds).
DEFAULT_MAX_SKEW = 300


class Witness:
    """Cosigns the checkpoints of the logs it follows, one consistent step at a time."""

    __slots__ = (
        "_latest",
        "_logs",
        "_signer",
        "_times",
        "key",
        "max_skew",
        "name",
        "require_time",
    )

    def __init__(
        self,
        name: str,
        signer: Ed25519Signer,
        logs: Mapping[str, Iterable[VerifierKey]],
        latest: Mapping[str, TreeHead] | None = None,
        *,
        times: Mapping[str, int] | None = None,
        max_skew: int = DEFAULT_MAX_SKEW,
        require_time: bool = False,
    ) -> None:
        self.name = name
        self._signer = signer
        self.key = VerifierKey(name, signer.public_key, COSIGNATURE_V1)
        self._logs = {origin: tuple(keys) for origin, keys in logs.items()}
        self._latest: dict[str, TreeHead] = dict(latest or {})
        self._times: dict[str, int] = dict(times or {})
        self.max_skew = max_skew
        self.require_time = require_time

    def latest(self, origin: str) -> TreeHead | None:
        """The last head this witness cosigned for ``origin``, if any."""
        return self._latest.get(origin)

    def state(self) -> dict[str, TreeHead]:
        """What to persist: the last cosigned head of each log."""
        return dict(self._latest)

    def times(self) -> dict[str, int]:
        """What to persist beside it: the signed time of each log's last cosigned head."""
        return dict(self._times)

    def _check_time(self, origin: str, signed: int | None, now: int) -> None:
        last = self._times.get(origin)
        if signed is None:
            if last is not None or self.require_time:
                raise HeadTimeRefused("The checkpoint names no signing time.")
            return
        if last is not None and signed < last:
            raise HeadTimeRefused(
                f"The checkpoint was signed at {signed}, before the last cosigned one ({last})."
            )
        if signed > now + self.max_skew:
            raise HeadTimeRefused(f"The checkpoint's signing time {signed} is in the future.")

    def add_checkpoint(
        self, checkpoint: str | bytes | Note, old_size: int, proof: Sequence[bytes], *, now: int
    ) -> str:
        """Check ``checkpoint`` against the last cosigned head; return the cosignature line.

        ``now`` is the cosignature's time in POSIX seconds (the caller's clock).
        Nothing changes unless the cosignature is returned.
        """
        note = checkpoint if isinstance(checkpoint, Note) else Note.parse(checkpoint)
        origin = note.text.split("\n", 1)[0]
        keys = self._logs.get(origin)
        if keys is None:
            raise UnknownLog("This witness does not follow that log.")
        try:
            opened = open_checkpoint(note, keys, self._signer)
        except SignatureInvalid:
            raise UntrustedCheckpoint() from None
        new = opened.checkpoint.head
        if old_size > new.size:
            raise OldSizeTooLarge(f"old size {old_size} is above the checkpoint's {new.size}")
        latest = self._latest.get(origin)
        latest_size = latest.size if latest is not None else 0
        if old_size != latest_size:
            raise StaleOldSize(latest_size)
        if len(proof) > MAX_PROOF_LINES or any(len(node) != HASH_SIZE for node in proof):
            raise NoteMalformed("a consistency proof is at most 63 hashes of 32 bytes")
        self._check_time(origin, opened.checkpoint.time, now)
        check_consistent(latest or EMPTY_HEAD, new, proof)
        line = cosign_text(note.text, self.name, self._signer, now).line()
        self._latest[origin] = new
        if opened.checkpoint.time is not None:
            self._times[origin] = opened.checkpoint.time
        return line

    def cosign(self, checkpoint: str | bytes | Note, proof: Sequence[bytes], *, now: int) -> str:
        """:meth:`add_checkpoint` from the size this witness last cosigned."""
        note = checkpoint if isinstance(checkpoint, Note) else Note.parse(checkpoint)
        latest = self._latest.get(note.text.split("\n", 1)[0])
        return self.add_checkpoint(note, latest.size if latest else 0, proof, now=now)


def render_add_checkpoint(old_size: int, proof: Sequence[bytes], checkpoint: str) -> str:
    """The body of a tlog-witness ``add-checkpoint`` request."""
    lines = [f"old {old_size}", *(b64encode(node) for node in proof)]
    return "".join(f"{line}\n" for line in lines) + "\n" + checkpoint


def parse_add_checkpoint(body: str | bytes) -> tuple[int, list[bytes], Note]:
    """Read an ``add-checkpoint`` body: the old size, the proof, and the signed checkpoint."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteMalformed("the request is UTF-8") from None
    head, separator, checkpoint = body.partition("\n\n")
    if not separator:
        raise NoteMalformed("the request has a blank line before the checkpoint")
    first, *proof_lines = head.split("\n")
    parts = first.split(" ")
    if len(parts) != 2 or parts[0] != "old":
        raise NoteMalformed("the request starts with 'old <size>'")
    if not parts[1].isdigit() or not parts[1].isascii() or parts[1] != str(int(parts[1])):
        raise NoteMalformed("the old size is decimal without leading zeros")
    if len(proof_lines) > MAX_PROOF_LINES:
        raise NoteMalformed("at most 63 consistency proof lines")
    proof = [b64decode_strict(line, size=HASH_SIZE) for line in proof_lines]
    return int(parts[1]), proof, Note.parse(checkpoint)
