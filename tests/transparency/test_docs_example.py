"""The vectors and the example head in docs/transparency.md are what the code produces."""

from __future__ import annotations

import base64
import re
from pathlib import Path

from tests.transparency.ed25519 import VERIFIER
from vault.transparency import (
    MemoryNodeStore,
    TreeAppender,
    VerifierKey,
    consistency_proof,
    hash_leaf,
    inclusion_proof,
    open_checkpoint,
)

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "transparency.md").read_text()
BLOCKS = re.findall(r"^```text\n(.*?)^```", PAGE, re.MULTILINE | re.DOTALL)
LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
]


def _block(starting: str) -> str:
    return next(block for block in BLOCKS if block.startswith(starting))


def _pairs(block: str) -> list[tuple[str, str]]:
    return [(line.split()[-2], line.split()[-1]) for line in block.splitlines()]


def test_the_documented_vectors_are_the_codes() -> None:
    """Leaf hashes, roots, the inclusion proof and the consistency proof on the page are correct."""
    store = MemoryNodeStore()
    tree = TreeAppender(store)
    root3 = tree.append(LEAVES[:3])
    root7 = tree.append(LEAVES[3:])
    assert [line.split()[1] for line in _block("0 ").splitlines()] == [
        hash_leaf(leaf).hex() for leaf in LEAVES
    ]
    for hex_root, b64_root in _pairs(_block("size 3")):
        assert bytes.fromhex(hex_root) == base64.b64decode(b64_root)
    assert _pairs(_block("size 3")) == [
        (root.hex(), base64.b64encode(root).decode()) for root in (root3, root7)
    ]
    proofs = [b for b in BLOCKS if b.startswith("0298d1")]
    assert [_pairs(b) for b in proofs] == [
        [(p.hex(), base64.b64encode(p).decode()) for p in proof]
        for proof in (inclusion_proof(store, 3, 7), consistency_proof(store, 3, 7))
    ]


def test_the_documented_head_verifies_with_the_documented_keys() -> None:
    """The example head verifies under the page's log vkey and carries the witness's cosignature."""
    log_key, witness_key = (VerifierKey.parse(v) for v in _block("vault.example/audit+").split())
    opened = open_checkpoint(_block("vault.example/audit\n7\n"), [log_key, witness_key], VERIFIER)
    assert opened.signers == (log_key, witness_key)
    assert opened.checkpoint.size == 7
    assert opened.note.signatures[1].timestamp == 1764547260
