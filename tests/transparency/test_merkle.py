"""RFC 9162 tree heads and proofs: reference vectors, a naive model, and the node store."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.transparency.reference import STRICTER, VECTORS
from vault.transparency import (
    EMPTY_ROOT,
    MemoryNodeStore,
    ProofInvalid,
    TreeAppender,
    consistency_proof,
    hash_children,
    hash_leaf,
    inclusion_proof,
    root_of,
    tree_head,
    verify_consistency,
    verify_inclusion,
)


def naive_mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 §2.1.1 writes it, recursively."""
    n = len(leaves)
    if n == 0:
        return EMPTY_ROOT
    if n == 1:
        return hash_leaf(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return hash_children(naive_mth(leaves[:k]), naive_mth(leaves[k:]))


def leaves_of(n: int, salt: bytes = b"") -> list[bytes]:
    return [salt + i.to_bytes(4, "big") for i in range(n)]


def store_of(leaves: list[bytes]) -> MemoryNodeStore:
    store = MemoryNodeStore()
    TreeAppender(store).append(leaves)
    return store


def _b64(items: list[str] | None) -> list[bytes]:
    return [base64.b64decode(item) for item in items or []]


@pytest.mark.parametrize("case", VECTORS["inclusion"], ids=lambda c: c["file"])
def test_inclusion_reference_vectors(case: dict[str, Any]) -> None:
    """Each transparency-dev inclusion case verifies, or fails, as the reference says."""
    args = (base64.b64decode(case["leafHash"]), case["leafIdx"], case["treeSize"])
    if case["wantErr"]:
        with pytest.raises(ProofInvalid):
            verify_inclusion(*args, _b64(case["proof"]), base64.b64decode(case["root"]))
    else:
        verify_inclusion(*args, _b64(case["proof"]), base64.b64decode(case["root"]))


@pytest.mark.parametrize("case", VECTORS["consistency"], ids=lambda c: c["file"])
def test_consistency_reference_vectors(case: dict[str, Any]) -> None:
    """Each transparency-dev consistency case verifies, or fails, as the reference says."""
    roots = base64.b64decode(case["root1"]), base64.b64decode(case["root2"])
    args = (case["size1"], case["size2"], *roots, _b64(case["proof"]))
    if case["wantErr"] or case["file"] in STRICTER:
        with pytest.raises(ProofInvalid):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_reference_roots_of_every_size() -> None:
    """The roots of the reference eight-leaf tree, sizes 0 to 8, come out of the appender."""
    leaves = [bytes.fromhex(h) for h in VECTORS["leaves_hex"]]
    store = MemoryNodeStore()
    appender = TreeAppender(store)
    assert appender.root().hex() == VECTORS["roots_hex"][0]
    for size, leaf in enumerate(leaves, start=1):
        assert appender.append([leaf]).hex() == VECTORS["roots_hex"][size]
    assert [tree_head(store, n).hex() for n in range(9)] == VECTORS["roots_hex"]


def test_generated_proofs_match_the_reference_proofs() -> None:
    """Proofs generated over the reference tree equal the reference's happy-path proofs."""
    store = store_of([bytes.fromhex(h) for h in VECTORS["leaves_hex"]])
    compared = 0
    for case in VECTORS["inclusion"]:
        if case["desc"] == "happy path" and case["treeSize"] <= 8:
            got = inclusion_proof(store, case["leafIdx"], case["treeSize"])
            assert got == _b64(case["proof"]), case["file"]
            compared += 1
    for case in VECTORS["consistency"]:
        if case["desc"] == "happy path" and case["size1"] > 0 and case["size2"] <= 8:
            got = consistency_proof(store, case["size1"], case["size2"])
            assert got == _b64(case["proof"]), case["file"]
            compared += 1
    assert compared >= 8


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=300), st.integers(min_value=1, max_value=40))
def test_tree_head_matches_the_naive_recursion(n: int, batch: int) -> None:
    """For random sizes and batch sizes, every prefix's head equals the recursive MTH."""
    leaves = leaves_of(n)
    store = MemoryNodeStore()
    appender = TreeAppender(store)
    for start in range(0, n, batch):
        root = appender.append(leaves[start : start + batch])
        assert root == naive_mth(leaves[: start + batch])
    assert appender.root() == naive_mth(leaves) == root_of(leaves)
    for size in {0, n // 3, n // 2, n}:
        assert tree_head(store, size) == naive_mth(leaves[:size])


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_inclusion_proofs_verify_for_random_trees(data: st.DataObject) -> None:
    """An inclusion proof from the store verifies, and fails for another leaf or index."""
    n = data.draw(st.integers(min_value=1, max_value=600), label="n")
    size = data.draw(st.integers(min_value=1, max_value=n), label="size")
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="index")
    leaves = leaves_of(n)
    store = store_of(leaves)
    root = naive_mth(leaves[:size])
    path = inclusion_proof(store, index, size)
    verify_inclusion(hash_leaf(leaves[index]), index, size, path, root)
    with pytest.raises(ProofInvalid):
        verify_inclusion(hash_leaf(b"not a leaf"), index, size, path, root)
    if size > 1:
        other = (index + 1) % size
        with pytest.raises(ProofInvalid):
            verify_inclusion(hash_leaf(leaves[index]), other, size, path, root)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_consistency_proofs_verify_for_random_sizes(data: st.DataObject) -> None:
    """A consistency proof for random 0 < m <= n verifies, and fails for a rewritten old tree."""
    n = data.draw(st.integers(min_value=1, max_value=600), label="n")
    m = data.draw(st.integers(min_value=1, max_value=n), label="m")
    leaves = leaves_of(n)
    proof = consistency_proof(store_of(leaves), m, n)
    old, new = naive_mth(leaves[:m]), naive_mth(leaves)
    verify_consistency(m, n, old, new, proof)
    rewritten = naive_mth([b"changed", *leaves[1:m]])
    with pytest.raises(ProofInvalid):
        verify_consistency(m, n, rewritten, new, proof)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_any_flipped_bit_breaks_a_proof(data: st.DataObject) -> None:
    """Flipping one bit anywhere in a non-empty inclusion or consistency proof makes it fail."""
    n = data.draw(st.integers(min_value=3, max_value=200), label="n")
    m = data.draw(st.integers(min_value=1, max_value=n - 1), label="m")
    leaves = leaves_of(n)
    store = store_of(leaves)
    for proof, check in (
        (
            inclusion_proof(store, m, n),
            lambda p: verify_inclusion(hash_leaf(leaves[m]), m, n, p, naive_mth(leaves)),
        ),
        (
            consistency_proof(store, m, n),
            lambda p: verify_consistency(m, n, naive_mth(leaves[:m]), naive_mth(leaves), p),
        ),
    ):
        node = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="node")
        bit = data.draw(st.integers(min_value=0, max_value=255), label="bit")
        broken = list(proof)
        flipped = bytearray(broken[node])
        flipped[bit // 8] ^= 1 << (bit % 8)
        broken[node] = bytes(flipped)
        with pytest.raises(ProofInvalid):
            check(broken)
        with pytest.raises(ProofInvalid):
            check(proof[:-1])
        with pytest.raises(ProofInvalid):
            check([*proof, proof[0]])


class CountingStore(MemoryNodeStore):
    """A memory store that counts its reads."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, level: int, index: int) -> bytes:
        self.reads += 1
        return super().get(level, index)


def test_proofs_read_logarithmically_many_nodes() -> None:
    """A proof or head of a 100,000-leaf tree reads at most 2 log2(n) nodes, not n."""
    n = 100_000
    store = CountingStore()
    TreeAppender(store).append_hashes(hash_leaf(i.to_bytes(4, "big")) for i in range(n))
    limit = 2 * n.bit_length()
    for call in (
        lambda: inclusion_proof(store, 12_345, n),
        lambda: inclusion_proof(store, n - 4, n - 3),
        lambda: consistency_proof(store, 77_777, n),
        lambda: consistency_proof(store, 65_536, 99_999),
        lambda: tree_head(store, 99_999),
    ):
        store.reads = 0
        call()
        assert 0 < store.reads <= limit


def test_a_reopened_tree_continues_where_it_stopped() -> None:
    """An appender reopened on a store at a known size appends exactly as if never closed."""
    leaves = leaves_of(77)
    store = MemoryNodeStore()
    TreeAppender(store).append(leaves[:50])
    reopened = TreeAppender(store, 50)
    assert reopened.root() == naive_mth(leaves[:50])
    assert reopened.append(leaves[50:]) == naive_mth(leaves)
    assert reopened.size == 77


def test_a_batch_writes_only_the_subtrees_it_completes() -> None:
    """Appending a batch stores each newly completed subtree once and rewrites none."""
    store = CountingStore()
    appender = TreeAppender(store)
    appender.append(leaves_of(5))
    before = [store.count(level) for level in range(4)]
    appender.append(leaves_of(3, b"x"))
    after = [store.count(level) for level in range(4)]
    assert before == [5, 2, 1, 0]
    assert after == [8, 4, 2, 1]


def test_the_memory_store_refuses_to_rewrite_or_skip_a_node() -> None:
    """A stored node cannot be replaced by another hash, and no gap can be left."""
    store = store_of(leaves_of(4))
    store.put(0, 2, store.get(0, 2))  # the same hash again is harmless
    with pytest.raises(ValueError, match="another hash"):
        store.put(0, 2, hash_leaf(b"forged"))
    with pytest.raises(ValueError, match="gap"):
        store.put(0, 9, hash_leaf(b"far"))
    with pytest.raises(KeyError):
        store.get(0, 4)


def test_a_batch_with_a_bad_leaf_hash_changes_nothing() -> None:
    """A batch containing a malformed leaf hash is refused whole, and the tree stays as it was."""
    store = MemoryNodeStore()
    appender = TreeAppender(store)
    root = appender.append(leaves_of(3))
    with pytest.raises(ValueError, match="32 bytes"):
        appender.append_hashes([hash_leaf(b"fine"), b"short"])
    assert (appender.size, appender.root(), store.count(0)) == (3, root, 3)


def test_proof_generation_refuses_impossible_sizes() -> None:
    """Asking for a proof outside the tree is an error, not a wrong proof."""
    store = store_of(leaves_of(8))
    with pytest.raises(ValueError, match="not in a tree"):
        inclusion_proof(store, 8, 8)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(store, 0, 8)
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(store, 5, 4)
    with pytest.raises(KeyError):
        tree_head(store, 9)
