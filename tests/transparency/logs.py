"""A small log for tests: leaves in a memory node store and a head signer."""

from __future__ import annotations

from tests.transparency.ed25519 import VaultEd25519
from vault.transparency import (
    HeadSigner,
    MemoryNodeStore,
    TreeAppender,
    consistency_proof,
    inclusion_proof,
)

ORIGIN = "vault.example/audit"


class Log:
    """Leaves appended in batches; each batch's head signed after the previous one."""

    def __init__(self, origin: str = ORIGIN, key_label: str = "log key") -> None:
        self.key = VaultEd25519(key_label)
        self.signer = HeadSigner(origin, self.key)
        self.store = MemoryNodeStore()
        self.tree = TreeAppender(self.store)
        self.leaves: list[bytes] = []
        self.heads: list[str] = []

    def append(self, leaves: list[bytes]) -> str:
        """Append a batch and sign its head; return the signed checkpoint."""
        old_size = self.tree.size
        root = self.tree.append(leaves)
        self.leaves += leaves
        if not self.heads:
            head = self.signer.sign_first(self.tree.size, root)
        else:
            proof = consistency_proof(self.store, old_size, self.tree.size) if old_size else []
            head = self.signer.sign_next(self.heads[-1], self.tree.size, root, proof)
        self.heads.append(head)
        return head

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(self.store, index, size)

    def consistency(self, old: int, new: int) -> list[bytes]:
        return consistency_proof(self.store, old, new) if old else []


def events(count: int, start: int = 0, tag: str = "event") -> list[bytes]:
    return [f"{tag} {i}".encode() for i in range(start, start + count)]
