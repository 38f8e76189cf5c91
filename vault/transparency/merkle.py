"""RFC 9162 Merkle tree hashing, tree heads, inclusion and consistency proofs.

Hashing (RFC 9162 §2.1.1), with SHA-256::

    MTH({})       = SHA-256()
    leaf hash     = SHA-256(0x00 || leaf)
    node hash     = SHA-256(0x01 || left || right)
    MTH(D[n])     = node(MTH(D[0:k]), MTH(D[k:n]))   k the largest power of two < n

Proofs are generated from a :class:`~vault.transparency.store.NodeStore`, which
holds the hash of every complete subtree keyed by ``(level, index)`` (the
subtree over leaves ``index * 2**level`` up to ``(index + 1) * 2**level``).
Every range that a proof or a tree head needs is either such a complete
subtree (one read) or the ragged right edge of a tree, which is the fold of at
most ``log2(n)`` complete subtrees; a proof therefore costs O(log n) reads.

Verification follows the algorithms of RFC 9162 §2.1.3.2 (inclusion) and
§2.1.4.2 (consistency) step by step. Roots and proof hashes are public data:
they are compared with ``==``, not in constant time, on purpose.
"""

from __future__ import annotations

from collections.abc import Sequence

from vault.transparency.errors import ProofInvalid
from vault.transparency.hashing import EMPTY_ROOT, HASH_SIZE, hash_children, hash_leaf
from vault.transparency.store import NodeStore

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "consistency_proof",
    "hash_children",
    "hash_leaf",
    "inclusion_proof",
    "range_hash",
    "root_from_inclusion_proof",
    "root_of",
    "root_of_leaf_hashes",
    "tree_head",
    "verify_consistency",
    "verify_inclusion",
]


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH over leaves already hashed (a stack of complete subtrees, O(n) time)."""
    if not hashes:
        return EMPTY_ROOT
    # stack[i] is a complete subtree; sizes strictly decrease towards the top.
    stack: list[tuple[int, bytes]] = []
    for leaf in hashes:
        size, node = 1, leaf
        while stack and stack[-1][0] == size:
            left_size, left = stack.pop()
            size, node = left_size + size, hash_children(left, node)
        stack.append((size, node))
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = hash_children(left, root)
    return root


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaves' data."""
    return root_of_leaf_hashes([hash_leaf(leaf) for leaf in leaves])


# ------------------------------------------------------------------ generation


def range_hash(store: NodeStore, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a range that starts on a boundary of its own width.

    That is every range the RFC's recursion visits: a complete subtree is read
    once; a ragged one is the fold of the complete subtrees of its binary
    decomposition (at most ``log2(end - start)`` reads).
    """
    width = end - start
    if width <= 0:
        raise ValueError("an empty range has no subtree hash")
    nodes: list[bytes] = []
    while width:
        level = width.bit_length() - 1  # the largest complete subtree at ``start``
        if start % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not aligned on a subtree")
        nodes.append(store.get(level, start >> level))
        start += 1 << level
        width -= 1 << level
    root = nodes[-1]
    for left in reversed(nodes[:-1]):
        root = hash_children(left, root)
    return root


def tree_head(store: NodeStore, size: int) -> bytes:
    """MTH of the first ``size`` leaves held by ``store`` (O(log n) reads)."""
    if size < 0:
        raise ValueError("a tree size is not negative")
    return EMPTY_ROOT if size == 0 else range_hash(store, 0, size)


def inclusion_proof(store: NodeStore, index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1, lowest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(range_hash(store, start + k, end))
            end = start + k
        else:
            path.append(range_hash(store, start, start + k))
            start += k
    path.reverse()
    return path


def consistency_proof(store: NodeStore, old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1, lowest node first.

    Defined for 0 < old_size <= new_size; equal sizes give the empty proof.
    """
    if not 0 < old_size <= new_size:
        raise ValueError(f"no consistency proof from size {old_size} to size {new_size}")
    proof: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while True:
        if m == end - start:  # SUBPROOF(m, D[m], b)
            if not whole:
                proof.append(range_hash(store, start, end))
            break
        k = _split(end - start)
        if m <= k:
            proof.append(range_hash(store, start + k, end))
            end = start + k
        else:
            proof.append(range_hash(store, start, start + k))
            start, m, whole = start + k, m - k, False
    proof.reverse()
    return proof


# ---------------------------------------------------------------- verification


def _check_hashes(*hashes: bytes) -> None:
    if any(len(h) != HASH_SIZE for h in hashes):
        raise ProofInvalid("a hash is not 32 bytes")


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, size: int, path: Sequence[bytes]
) -> bytes:
    """The root that ``path`` leads to from ``leaf_hash`` (RFC 9162 §2.1.3.2, steps 1-4)."""
    _check_hashes(leaf_hash, *path)
    if not 0 <= index < size:  # step 1
        raise ProofInvalid(f"leaf index {index} is not below the tree size {size}")
    fn, sn = index, size - 1  # step 2
    r = leaf_hash  # step 3
    for p in path:  # step 4
        if sn == 0:  # 4a
            raise ProofInvalid("the inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:  # 4b
            r = hash_children(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = hash_children(r, p)
        fn, sn = fn >> 1, sn >> 1  # 4c
    if sn != 0:  # step 5, first half
        raise ProofInvalid("the inclusion proof is shorter than the tree is high")
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Raise :class:`ProofInvalid` unless ``path`` proves the leaf is in the tree with ``root``."""
    _check_hashes(root)
    # Roots are public: a plain comparison is fine here.
    if root_from_inclusion_proof(leaf_hash, index, size, path) != root:
        raise ProofInvalid("the inclusion proof does not lead to the root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Raise :class:`ProofInvalid` unless tree (new_size, new_root) extends (old_size, old_root).

    The algorithm of RFC 9162 §2.1.4.2. Two cases it leaves out are settled
    first: equal sizes need an empty proof and the same root (the proof of
    §2.1.4.1 is empty then); a proof from the empty tree is meaningless and
    refused (every tree extends the empty one, no proof is needed).
    """
    _check_hashes(old_root, new_root, *proof)
    if old_size < 0 or new_size < old_size:
        raise ProofInvalid(f"size {new_size} is smaller than size {old_size}")
    if old_size == 0:
        raise ProofInvalid("a consistency proof from the empty tree is meaningless")
    if old_size == new_size:
        if proof or old_root != new_root:
            raise ProofInvalid("the same size must have the same root and an empty proof")
        return
    path = list(proof)
    if not path:  # step 1
        raise ProofInvalid("the consistency proof is empty")
    if old_size & (old_size - 1) == 0:  # step 2: an exact power of two
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1  # step 3
    while fn & 1:  # step 4
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]  # step 5
    for c in path[1:]:  # step 6
        if sn == 0:  # 6a
            raise ProofInvalid("the consistency proof is too long")
        if fn & 1 or fn == sn:  # 6b
            fr = hash_children(c, fr)
            sr = hash_children(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = hash_children(sr, c)
        fn, sn = fn >> 1, sn >> 1  # 6c
    # Step 7. Roots are public: plain comparisons are fine here.
    if sn != 0 or fr != old_root or sr != new_root:
        raise ProofInvalid("the consistency proof does not lead to both roots")
