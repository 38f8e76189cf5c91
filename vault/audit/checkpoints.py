"""Signed checkpoints: an Ed25519 signature over (seq, head hash, time).

A checkpoint pins the chain up to ``seq``: whoever holds it can later prove that
the first ``seq`` events are the ones that were there when it was signed. Kept
in the vault's table and exportable as JSON Lines, so copies can live
elsewhere (another machine, paper, a notary) out of a database admin's reach.

Signing goes through :class:`CheckpointSigner`, which
``vault.crypto.signing.Signer`` satisfies; this module never touches a key.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from vault.audit.canonical import encode, format_time, parse_time
from vault.errors import InvalidInput

CHECKPOINT_TYPE = "vault.audit.checkpoint"
CHECKPOINT_VERSION = 1


class CheckpointSigner(Protocol):
    """What the audit log needs from a signing key (``vault.crypto.signing.Signer``)."""

    @property
    def key_id(self) -> str: ...

    def sign(self, data: bytes) -> bytes: ...


# ``vault.crypto.signing.verify_signature``: (public JWK, data, signature) -> valid?
SignatureVerifier = Callable[[Mapping[str, str], bytes, bytes], bool]


def default_verifier() -> SignatureVerifier:
    from vault.crypto.signing import verify_signature

    return verify_signature


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    head_hash: bytes
    time: datetime
    key_id: str
    signature: bytes

    @staticmethod
    def payload(seq: int, head_hash: bytes, moment: datetime, key_id: str) -> bytes:
        """The bytes that are signed: canonical JSON naming what it is, so a
        signature over a checkpoint can never pass for a receipt's."""
        return encode(
            {
                "type": CHECKPOINT_TYPE,
                "v": CHECKPOINT_VERSION,
                "seq": seq,
                "head_hash": head_hash.hex(),
                "time": format_time(moment),
                "key_id": key_id,
            }
        )

    @classmethod
    def create(
        cls, signer: CheckpointSigner, seq: int, head_hash: bytes, moment: datetime
    ) -> Checkpoint:
        # One snapshot of the current key, so the kid named and the key that signs agree
        # even if the signing key rotates meanwhile.
        current = getattr(signer, "current", None)
        if callable(current):
            signer = current()
        key_id = signer.key_id
        signature = signer.sign(cls.payload(seq, head_hash, moment, key_id))
        return cls(seq=seq, head_hash=head_hash, time=moment, key_id=key_id, signature=signature)

    def signed_bytes(self) -> bytes:
        return self.payload(self.seq, self.head_hash, self.time, self.key_id)

    def signature_valid(
        self, public_keys: Iterable[Mapping[str, str]], verifier: SignatureVerifier
    ) -> bool:
        """True if a published key with this checkpoint's key id verifies its signature
        (a retired key only for a checkpoint dated no later than its ``retired_at``;
        a revoked key never)."""
        from vault.crypto.signing import key_allows

        data = self.signed_bytes()
        for jwk in public_keys:
            if jwk.get("kid") not in (None, self.key_id):
                continue
            if not key_allows(jwk, self.time):
                continue
            try:
                valid = verifier(jwk, data, self.signature)
            except Exception:  # noqa: BLE001  (a malformed key or signature is just "not valid")
                valid = False
            if valid:
                return True
        return False

    def to_json(self) -> dict[str, Any]:
        return {
            "type": CHECKPOINT_TYPE,
            "v": CHECKPOINT_VERSION,
            "seq": self.seq,
            "head_hash": self.head_hash.hex(),
            "time": format_time(self.time),
            "key_id": self.key_id,
            "signature": base64.urlsafe_b64encode(self.signature).rstrip(b"=").decode("ascii"),
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Checkpoint:
        try:
            if document.get("type") != CHECKPOINT_TYPE or document.get("v") != CHECKPOINT_VERSION:
                raise ValueError("not a version 1 audit checkpoint")
            signature = str(document["signature"])
            seq = document["seq"]
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
                raise ValueError("seq must be a positive integer")
            head_hash = bytes.fromhex(str(document["head_hash"]))
            if len(head_hash) != 32:
                raise ValueError("head_hash must be 32 bytes")
            return cls(
                seq=seq,
                head_hash=head_hash,
                time=parse_time(str(document["time"])),
                key_id=str(document["key_id"]),
                signature=_strict_b64url(signature),
            )
        except (KeyError, ValueError, TypeError, binascii.Error) as exc:
            raise InvalidInput(f"Not a valid audit checkpoint: {exc}") from None


def _strict_b64url(text: str) -> bytes:
    """Unpadded base64url in its one canonical spelling (else ValueError)."""
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != text:
        raise ValueError("signature is not canonical base64url")
    return data


def to_jsonl(checkpoints: Iterable[Checkpoint]) -> Iterator[str]:
    for checkpoint in checkpoints:
        yield json.dumps(checkpoint.to_json(), sort_keys=True) + "\n"


def from_jsonl(lines: Iterable[str]) -> list[Checkpoint]:
    """Read exported checkpoints (one JSON object a line; blank lines skipped)."""
    checkpoints = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            document = json.loads(line)
        except json.JSONDecodeError:
            raise InvalidInput(f"Line {number} of the checkpoints is not JSON.") from None
        if not isinstance(document, dict):
            raise InvalidInput(f"Line {number} of the checkpoints is not a JSON object.")
        checkpoints.append(Checkpoint.from_json(document))
    return checkpoints
