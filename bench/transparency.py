"""Transparency log: proofs and appends over a Merkle tree of a million leaves.

The tree is built in the in-memory node store (``MemoryNodeStore``) by the
batch appender, 10,000 leaves a batch, as the audit log would feed it. Then:

- proving one leaf (an inclusion proof for a random leaf of the whole tree),
  a consistency proof between a random earlier size and the whole tree, and a
  tree head at a random size, each against a bare ``hashlib`` walk of the same
  height (``log2(n)`` SHA-256 calls over 65 bytes: the least work any path
  through the tree costs);
- verifying an inclusion proof (RFC 9162 §2.1.3.2) against the same walk;
- appending in batches of 1, 100 and 10,000 leaves to the big tree, per leaf,
  against bare ``hashlib`` on the same leaves just before: two SHA-256 calls
  per leaf (a leaf hash and, on average, one interior node), the floor of any
  append;
- on SQLite (``bench.tlog_sqlite``): verifying the whole log and the events
  after a verified head, and proving one event, as the vault does them;
- appending through ``AuditLog`` (group commit, 32 threads) with the tree
  against the same append with the tree's writes switched off, on SQLite and
  PostgreSQL (when reachable): rounds alternate the two, each on a fresh store,
  and the ratio of each round is reported (the machine is shared).
"""

from __future__ import annotations

import hashlib
import random
import time

from bench.audit import _append_rate, _without_tree
from bench.common import Mode, Row, Section, Target, main, median, need, percentile, pick, sample
from bench.stores import postgres_reachable, store
from bench.tlog_sqlite import run_sqlite

LEAF_BYTES = 64  # about the size of an audit event's hash and sequence number


def _leaf(i: int) -> bytes:
    return i.to_bytes(8, "big") * (LEAF_BYTES // 8)


def run(mode: Mode) -> Section:
    tl = need("vault.transparency", "the transparency log (vault/transparency)")
    section = Section(name="transparency", title="Transparency log")
    size = pick(mode, 100_000, 1_000_000, 1_000_000)
    budget = pick(mode, 0.5, 2.0, 5.0)
    rng = random.Random(20261130)

    store = tl.MemoryNodeStore()
    tree = tl.TreeAppender(store)
    started = time.perf_counter()
    for start in range(0, size, 10_000):
        tree.append(_leaf(i) for i in range(start, min(size, start + 10_000)))
    build_seconds = time.perf_counter() - started
    nodes = sum(store.count(level) for level in range(size.bit_length() + 1))
    height = size.bit_length()

    def bare_walk() -> bytes:
        node = b"\x00" * 32
        for _ in range(height):
            node = hashlib.sha256(b"\x01" + node + node).digest()
        return node

    walk = median(sample(bare_walk, max_count=20_000, max_seconds=budget)) * 1e6

    def prove() -> object:
        return tl.inclusion_proof(store, rng.randrange(size), size)

    def consistency() -> object:
        return tl.consistency_proof(store, rng.randrange(1, size), size)

    def head() -> object:
        return tl.tree_head(store, rng.randrange(1, size + 1))

    index = rng.randrange(size)
    path = tl.inclusion_proof(store, index, size)
    root = tree.root()
    leaf_hash = tl.hash_leaf(_leaf(index))

    def verify() -> None:
        tl.verify_inclusion(leaf_hash, index, size, path, root)

    label = f"{size:,} leaves"
    proving: list[float] = []
    for name, fn in (
        ("inclusion proof, one leaf", prove),
        ("consistency proof, random old size", consistency),
        ("tree head, random size", head),
        ("verify an inclusion proof", verify),
    ):
        samples = sample(fn, max_count=20_000, max_seconds=budget)
        value = median(samples) * 1e6
        if name.startswith("inclusion"):
            proving = samples
        section.rows.append(
            Row(name, label, "vault.transparency", value, f"hashlib walk of {height}", walk, "µs")
        )

    def bare_append(leaves: list[bytes]) -> None:
        for leaf in leaves:
            node = hashlib.sha256(b"\x00" + leaf).digest()
            hashlib.sha256(b"\x01" + node + node).digest()

    next_leaf = size
    for batch, rounds in ((1, 3_000), (100, 200), (10_000, 5)):
        per_leaf: list[float] = []
        floor: list[float] = []
        for _ in range(rounds):  # the floor on the same leaves, just before: same machine load
            leaves = [_leaf(i) for i in range(next_leaf, next_leaf + batch)]
            started = time.perf_counter()
            bare_append(leaves)
            floor.append((time.perf_counter() - started) / batch)
            started = time.perf_counter()
            tree.append(leaves)
            per_leaf.append((time.perf_counter() - started) / batch)
            next_leaf += batch
        section.rows.append(
            Row(
                "append, per leaf",
                f"batches of {batch:,} onto {label}",
                "TreeAppender + MemoryNodeStore",
                median(per_leaf) * 1e6,
                "hashlib, 2 SHA-256 a leaf",
                median(floor) * 1e6,
                "µs",
            )
        )

    p50, p99 = median(proving) * 1e3, percentile(proving, 99) * 1e3
    section.targets.append(
        Target(
            f"prove one leaf of {label} (node store in memory)",
            "under 5 ms",
            f"median {p50:.3f} ms, p99 {p99:.3f} ms over {len(proving):,} random leaves",
            p99 < 5.0,
        )
    )
    section.notes.append(
        f"building {label} in batches of 10,000 took {build_seconds:.1f} s "
        f"({build_seconds / size * 1e6:.2f} µs a leaf); the store then held {nodes:,} nodes, "
        f"32 bytes each ({nodes * 32 / 1e6:.0f} MB)"
    )
    section.notes.append(
        "every append returns the new root, folded from the right edge (up to log2(n) hashes): "
        "a batch of one leaf pays it for one leaf, which is why batches are cheaper"
    )
    run_sqlite(section, size, budget)
    append_ratio(section, mode)
    return section


def append_ratio(section: Section, mode: Mode, kinds: tuple[str, ...] = ()) -> None:
    """Group-commit appends with the Merkle tree against the same without it, rounds alternated."""
    kinds = kinds or ("sqlite", *(("postgresql",) if postgres_reachable() else ()))
    threads, per_thread = 32, pick(mode, 30, 100, 300)
    budget, rounds = pick(mode, 4.0, 8.0, 10.0), pick(mode, 3, 5, 5)
    for kind in kinds:
        with_tree: list[float] = []
        without: list[float] = []
        for _ in range(rounds):
            with store(kind) as url:
                treeless = _without_tree(
                    lambda url=url: _append_rate(url, threads, per_thread, budget)
                )
            with store(kind) as url:
                treed = _append_rate(url, threads, per_thread, budget)
            without.append(treeless["rate"])
            with_tree.append(treed["rate"])
        ratios = sorted(t / b for t, b in zip(with_tree, without, strict=True))
        section.rows.append(
            Row(
                f"append with the Merkle tree, {kind}",
                f"group commit, {threads} threads, median of {rounds} rounds",
                "AuditLog + tree",
                median(with_tree),
                "AuditLog, tree writes off",
                median(without),
                "events/s",
                extra={"round_ratios": ", ".join(f"{r:.2f}" for r in ratios)},
            )
        )
        section.targets.append(
            Target(
                f"append on {kind} within 10% of group commit without the tree",
                "ratio ≥ 0.90",
                f"median round ratio {median(ratios):.2f} "
                f"(rounds: {', '.join(f'{r:.2f}' for r in ratios)})",
                median(ratios) >= 0.90,
            )
        )


if __name__ == "__main__":
    main("transparency", run)
