"""The transparency log: a Merkle tree over the audit log, signed heads, witnesses.

Pure code: no database, no HTTP, no cryptographic library. Hashing is
SHA-256 (RFC 9162); signing and verifying go through the small protocols of
:mod:`vault.transparency.note`, implemented by the vault's key custody.

- :mod:`~vault.transparency.merkle`: tree heads, inclusion and consistency
  proofs (generation from a node store, and verification)
- :mod:`~vault.transparency.store`: the node store protocol, an in-memory
  store, and the batch appender
- :mod:`~vault.transparency.note`: C2SP signed notes and verifier keys
- :mod:`~vault.transparency.checkpoint`: C2SP checkpoints, the ``prev`` chain,
  and the head signer that refuses to sign a rewritten log
- :mod:`~vault.transparency.witness`: the witness that cosigns consistent heads
"""

from vault.transparency.checkpoint import (
    EMPTY_HEAD,
    Checkpoint,
    HeadSigner,
    OpenedCheckpoint,
    TreeHead,
    check_consistent,
    check_follows,
    open_checkpoint,
    time_line,
)
from vault.transparency.errors import (
    HeadTimeRefused,
    InconsistentHead,
    NoteMalformed,
    OldSizeTooLarge,
    ProofInvalid,
    StaleOldSize,
    UnknownLog,
    UntrustedCheckpoint,
)
from vault.transparency.hashing import EMPTY_ROOT, hash_children, hash_leaf
from vault.transparency.merkle import (
    consistency_proof,
    inclusion_proof,
    root_of,
    root_of_leaf_hashes,
    tree_head,
    verify_consistency,
    verify_inclusion,
)
from vault.transparency.note import (
    COSIGNATURE_V1,
    ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    NoteSignature,
    VerifierKey,
    cosign_text,
    open_note,
    sign_text,
)
from vault.transparency.store import MemoryNodeStore, NodeStore, TreeAppender
from vault.transparency.witness import Witness, parse_add_checkpoint, render_add_checkpoint

__all__ = [
    "COSIGNATURE_V1",
    "ED25519",
    "EMPTY_HEAD",
    "EMPTY_ROOT",
    "Checkpoint",
    "Ed25519Signer",
    "Ed25519Verifier",
    "HeadSigner",
    "HeadTimeRefused",
    "InconsistentHead",
    "MemoryNodeStore",
    "NodeStore",
    "Note",
    "NoteMalformed",
    "NoteSignature",
    "OldSizeTooLarge",
    "OpenedCheckpoint",
    "ProofInvalid",
    "StaleOldSize",
    "TreeAppender",
    "TreeHead",
    "UnknownLog",
    "UntrustedCheckpoint",
    "VerifierKey",
    "Witness",
    "check_consistent",
    "check_follows",
    "consistency_proof",
    "cosign_text",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "open_checkpoint",
    "open_note",
    "parse_add_checkpoint",
    "render_add_checkpoint",
    "root_of",
    "root_of_leaf_hashes",
    "sign_text",
    "time_line",
    "tree_head",
    "verify_consistency",
    "verify_inclusion",
]
