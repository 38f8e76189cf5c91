"""What the transparency log refuses, as the vault's own errors.

Each maps to an HTTP status through the vault's one error handler. A bad
signature is :class:`vault.errors.SignatureInvalid`, whose message says only
that the signature does not verify (which check failed is not told).
"""

from __future__ import annotations

from typing import ClassVar

from vault.errors import Conflict, Forbidden, InvalidInput, NotFound


class ProofInvalid(InvalidInput):
    """An inclusion or consistency proof does not verify."""

    slug = "proof-invalid"
    title = "The Merkle proof does not verify"


class NoteMalformed(InvalidInput):
    """A signed note, checkpoint, key or witness request is not well formed."""

    slug = "note-malformed"
    title = "The signed note is not well formed"


class InconsistentHead(InvalidInput):
    """A new tree head does not extend the previous one: the log would be rewritten."""

    slug = "inconsistent-head"
    title = "The tree head is not consistent with the previous one"


class UnknownLog(NotFound):
    """A witness was shown a checkpoint of a log it does not follow."""

    slug = "unknown-log"
    title = "This witness does not follow that log"


class UntrustedCheckpoint(Forbidden):
    """No trusted key's signature verifies on the checkpoint (or one of them fails)."""

    slug = "untrusted-checkpoint"
    title = "The checkpoint is not signed by the log"

    def __init__(self) -> None:
        super().__init__("The checkpoint's signature does not verify.")


class OldSizeTooLarge(InvalidInput):
    """The claimed previous size is larger than the new checkpoint's size."""

    status: ClassVar[int] = 400
    slug = "old-size-too-large"
    title = "The previous size is larger than the checkpoint's"


class StaleOldSize(Conflict):
    """The claimed previous size is not the size the witness last cosigned."""

    slug = "stale-old-size"
    title = "The previous size is not the witness's latest"

    def __init__(self, latest_size: int) -> None:
        super().__init__(f"The witness last cosigned size {latest_size}.", latest_size=latest_size)
        self.latest_size = latest_size


class HeadTimeRefused(InvalidInput):
    """A head's signed time is before the last cosigned head's, or too far ahead of now."""

    slug = "head-time-refused"
    title = "The tree head's signed time is refused"
