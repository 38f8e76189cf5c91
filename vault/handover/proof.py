"""The export's inclusion proof: the sender shows the export was logged, the recipient checks.

The sender appends the export's audit event, signs a tree head that covers it
and puts the event with its inclusion proof into the sealed content as
``export_proof``, in the JSON of ``vault audit prove`` (``vault.audit.proofs``)::

    {"log_key": "<vkey>", "head": "<signed checkpoint note>",
     "inclusion": {"event": {"canonical": "<base64>", "prev_hash": "<base64>"},
                   "index": seq - 1, "size": <head size>, "path": ["<base64>", ...]}}

The recipient, given the sender's log keys (``vault handover trust``), checks
that the head is signed by one of them, that the event's chain hash is leaf
``index`` of the tree under that head, and that the event is this bundle's
export: ``handover.export``, allowed, of this bundle id, recipient, consent and
sender. A bundle whose proof is missing or fails is refused; so is a bundle of a
partner trusted without log keys, unless the operator named it in
``VAULT_HANDOVER_UNPROVEN_PARTNERS`` (``export_proof_status``; the import's audit
event then says the proof was waived).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from vault.audit.canonical import link_hash
from vault.audit.log import AuditLog
from vault.audit.proofs import ProofSource
from vault.crypto.signing import b64url, verify_signature
from vault.errors import VaultError
from vault.handover.bundle import BundleRefused
from vault.transparency import VerifierKey, hash_leaf, open_checkpoint, verify_inclusion
from vault.vocabulary import EventAction

__all__ = ["ExportProver", "check_export_proof", "export_proof_status", "log_keys_of"]


class ExportProver:
    """Signs a tree head covering an event and returns the event's inclusion proof."""

    def __init__(self, audit: AuditLog) -> None:
        self._audit = audit

    def __call__(self, seq: int) -> dict[str, Any] | None:
        """The proof of event ``seq``, or None where this vault signs no tree heads."""
        keeper = self._audit.heads()
        if keeper is None:
            return None
        self._audit.checkpoint_now()
        return ProofSource(self._audit.engine, keeper).inclusion(seq)

    def log_keys(self) -> list[str]:
        """This vault's log verifier keys (vkeys), published to its partners."""
        keeper = self._audit.heads()
        return [] if keeper is None else [str(key) for key in keeper.keys()]  # noqa: SIM118  (HeadKeeper.keys is a method, not a mapping)


def log_keys_of(vkeys: object) -> list[str]:
    """A partner's log keys as given by its operator, checked to parse (else ``ValueError``)."""
    if not isinstance(vkeys, list) or not all(isinstance(v, str) for v in vkeys):
        raise ValueError("log_keys: a list of vkeys")
    try:
        return [str(VerifierKey.parse(v)) for v in vkeys]
    except VaultError as exc:
        raise ValueError(f"log_keys: {exc}") from None


class _Verifier:
    """Ed25519 verification for signed notes, through the vault's signing module."""

    def verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(public_key)}
        return verify_signature(jwk, message, signature)


def _b64(text: object) -> bytes:
    if not isinstance(text, str):
        raise TypeError("base64")
    return base64.b64decode(text.encode("ascii"), validate=True)


def check_export_proof(proof: object, envelope: Mapping[str, str], log_keys: Sequence[str]) -> int:
    """The export event's sequence number, once its proof verifies; else ``BundleRefused``."""
    if not isinstance(proof, dict):
        raise BundleRefused("bad-proof", "the bundle carries no proof that its export was logged")
    try:
        keys = [VerifierKey.parse(v) for v in log_keys]
        checkpoint = open_checkpoint(str(proof["head"]), keys, _Verifier()).checkpoint
        inclusion = proof["inclusion"]
        canonical = _b64(inclusion["event"]["canonical"])
        prev_hash = _b64(inclusion["event"]["prev_hash"])
        index, size = inclusion["index"], inclusion["size"]
        path = [_b64(node) for node in inclusion["path"]]
        if not isinstance(index, int) or size != checkpoint.size:
            raise ValueError("size")
        verify_inclusion(
            hash_leaf(link_hash(prev_hash, canonical)), index, size, path, checkpoint.root
        )
        event = json.loads(canonical)
    except (VaultError, KeyError, TypeError, ValueError, binascii.Error, UnicodeError):
        raise BundleRefused(
            "bad-proof", "the proof that the export was logged does not verify"
        ) from None
    details = event.get("details") if isinstance(event, dict) else None
    if (
        not isinstance(details, dict)
        or event.get("seq") != index + 1
        or event.get("action") != EventAction.HANDOVER_EXPORT.value
        or event.get("outcome") != "allow"
        or event.get("actor_org") != envelope["sender"]
        or event.get("consent_id") != envelope["consent_id"]
        or details.get("bundle_id") != envelope["bundle_id"]
        or details.get("recipient") != envelope["recipient"]
    ):
        raise BundleRefused("bad-proof", "the logged event is not this bundle's export")
    return index + 1


class ProvingPartner(Protocol):
    @property
    def organization(self) -> str: ...
    @property
    def log_keys(self) -> Sequence[str]: ...


def export_proof_status(
    proof: object,
    envelope: Mapping[str, str],
    partner: ProvingPartner,
    unproven_partners: frozenset[str],
) -> str:
    """``"checked"`` once the bundle's proof verifies under the partner's log keys;
    ``"waived"`` for a partner trusted without log keys whom the operator named
    (``VAULT_HANDOVER_UNPROVEN_PARTNERS``); otherwise ``BundleRefused("unproven")``."""
    if partner.log_keys:
        check_export_proof(proof, envelope, partner.log_keys)
        return "checked"
    if partner.organization in unproven_partners:
        return "waived"
    raise BundleRefused(
        "unproven", "the sender's log keys are not configured: nothing shows the export was logged"
    )
