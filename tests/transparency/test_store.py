"""``vault.transparency.store``: roots equal RFC 6962's; a stored node never changes."""

from __future__ import annotations

import pytest

from vault.transparency.hashing import EMPTY_ROOT, hash_leaf
from vault.transparency.merkle import root_of
from vault.transparency.store import MemoryNodeStore, TreeAppender

LEAVES = [f"event {i}".encode() for i in range(37)]


@pytest.mark.parametrize("batches", [[37], [1] * 37, [5, 0, 13, 19], [16, 16, 5]])
def test_root_after_any_batching_is_the_rfc_6962_root(batches: list[int]) -> None:
    """However the leaves arrive in batches, each root equals the tree hash of the prefix."""
    appender = TreeAppender(MemoryNodeStore())
    done = 0
    for size in batches:
        root = appender.append(LEAVES[done : done + size])
        done += size
        assert root == root_of(LEAVES[:done])
        assert appender.size == done


def test_empty_tree_has_the_empty_root() -> None:
    """A tree with no leaf has the hash of the empty string as its root."""
    assert TreeAppender(MemoryNodeStore()).root() == EMPTY_ROOT


def test_reopened_tree_continues_where_it_stopped() -> None:
    """An appender opened on a stored tree of known size reads its edge and goes on."""
    store = MemoryNodeStore()
    TreeAppender(store).append(LEAVES[:21])
    reopened = TreeAppender(store, size=21)
    assert reopened.root() == root_of(LEAVES[:21])
    assert reopened.append(LEAVES[21:]) == root_of(LEAVES)


def test_bad_leaf_hash_leaves_the_tree_as_it_was() -> None:
    """A batch with a malformed hash stores nothing of the batch: all or nothing."""
    store = MemoryNodeStore()
    appender = TreeAppender(store)
    appender.append(LEAVES[:4])
    with pytest.raises(ValueError, match="32 bytes"):
        appender.append_hashes([hash_leaf(b"ok"), b"short"])
    assert appender.size == 4
    assert store.count(0) == 4
    assert appender.root() == root_of(LEAVES[:4])


def test_store_refuses_a_changed_node_and_a_gap() -> None:
    """A stored node cannot be rewritten with another hash, nor can a level skip an index."""
    store = MemoryNodeStore()
    node = hash_leaf(b"a")
    store.put(0, 0, node)
    store.put(0, 0, node)  # the same hash again is harmless
    with pytest.raises(ValueError, match="another hash"):
        store.put(0, 0, hash_leaf(b"b"))
    with pytest.raises(ValueError, match="gap"):
        store.put(0, 2, node)
    with pytest.raises(ValueError, match="32 bytes"):
        store.put(0, 1, b"short")
    with pytest.raises(KeyError):
        store.get(0, 1)
    with pytest.raises(KeyError):
        store.get(3, 0)
    assert store.get(0, 0) == node
    assert store.count(5) == 0


def test_negative_size_is_refused() -> None:
    """A tree cannot be opened at a negative size."""
    with pytest.raises(ValueError, match="not negative"):
        TreeAppender(MemoryNodeStore(), size=-1)
