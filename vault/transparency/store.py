"""Where complete subtree hashes live, and the appender that fills it batch by batch.

A node ``(level, index)`` is the complete subtree over leaves
``index * 2**level`` up to ``(index + 1) * 2**level``; its hash never changes
once the subtree is complete, so a store only ever adds nodes. Tree heads and
proofs for any size read O(log n) of them (see :mod:`vault.transparency.merkle`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from vault.transparency.hashing import EMPTY_ROOT, hash_children, hash_leaf

_HASH_SIZE = 32


class NodeStore(Protocol):
    """Hashes of complete subtrees, keyed by (level, index)."""

    def get(self, level: int, index: int) -> bytes:
        """The hash of node (level, index); raises ``KeyError`` if it is not stored."""
        ...

    def put(self, level: int, index: int, node: bytes) -> None:
        """Store node (level, index); storing it again with another hash is an error."""
        ...


class MemoryNodeStore:
    """A :class:`NodeStore` in memory: one ``bytearray`` per level, 32 bytes a node.

    Nodes of a level are stored in index order (the appender writes them so);
    a gap or a second, different hash for a stored node raises ``ValueError``.
    A million leaves take about 64 MB.
    """

    __slots__ = ("_levels",)

    def __init__(self) -> None:
        self._levels: list[bytearray] = []

    def get(self, level: int, index: int) -> bytes:
        if level < 0 or index < 0 or level >= len(self._levels):
            raise KeyError((level, index))
        row = self._levels[level]
        at = index * _HASH_SIZE
        if at + _HASH_SIZE > len(row):
            raise KeyError((level, index))
        return bytes(row[at : at + _HASH_SIZE])

    def put(self, level: int, index: int, node: bytes) -> None:
        if len(node) != _HASH_SIZE:
            raise ValueError("a node hash is 32 bytes")
        if level < 0 or index < 0:
            raise ValueError("levels and indexes are not negative")
        while len(self._levels) <= level:
            self._levels.append(bytearray())
        row = self._levels[level]
        count = len(row) // _HASH_SIZE
        if index == count:
            row += node
        elif index < count:
            if row[index * _HASH_SIZE : (index + 1) * _HASH_SIZE] != node:
                raise ValueError(f"node ({level}, {index}) is already stored with another hash")
        else:
            raise ValueError(f"node ({level}, {index}) would leave a gap after {count} nodes")

    def count(self, level: int) -> int:
        """How many nodes of ``level`` are stored."""
        return len(self._levels[level]) // _HASH_SIZE if level < len(self._levels) else 0


class TreeAppender:
    """Appends leaves to a tree kept in a :class:`NodeStore`, a batch at a time.

    It holds only the right edge of the tree (one complete subtree per set bit
    of the size); a batch of ``b`` leaves hashes about ``2b`` nodes and writes
    exactly the subtrees it completes, never recomputing older ones. Reopening
    a tree of known size reads its right edge back in O(log n).
    """

    __slots__ = ("_edge", "_size", "store")

    def __init__(self, store: NodeStore, size: int = 0) -> None:
        if size < 0:
            raise ValueError("a tree size is not negative")
        self.store = store
        self._size = size
        # (level, hash) of the complete subtrees on the right edge, largest first.
        self._edge: list[tuple[int, bytes]] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                self._edge.append((level, store.get(level, start >> level)))
                start += 1 << level

    @property
    def size(self) -> int:
        return self._size

    def root(self) -> bytes:
        """MTH of the whole tree, folded from the right edge (no read)."""
        if not self._edge:
            return EMPTY_ROOT
        root = self._edge[-1][1]
        for _, left in reversed(self._edge[:-1]):
            root = hash_children(left, root)
        return root

    def append(self, leaves: Iterable[bytes]) -> bytes:
        """Append the leaves' data, store every subtree they complete, return the new root."""
        return self.append_hashes(hash_leaf(leaf) for leaf in leaves)

    def append_hashes(self, leaf_hashes: Iterable[bytes]) -> bytes:
        """Like :meth:`append` for leaves already hashed (SHA-256(0x00 || leaf))."""
        edge = list(self._edge)
        size = self._size
        written: list[tuple[int, int, bytes]] = []
        for leaf_hash in leaf_hashes:
            if len(leaf_hash) != _HASH_SIZE:
                raise ValueError("a leaf hash is 32 bytes")
            level, index, node = 0, size, leaf_hash
            written.append((0, index, node))
            while edge and edge[-1][0] == level:
                _, left = edge.pop()
                level, index, node = level + 1, index >> 1, hash_children(left, node)
                written.append((level, index, node))
            edge.append((level, node))
            size += 1
        # Nothing changes until the whole batch is hashed; then every node is stored.
        for level, index, node in written:
            self.store.put(level, index, node)
        self._edge, self._size = edge, size
        return self.root()
