"""The transparency log on SQLite: verify a million events, prove one of them.

A chain of ``count + TAIL`` events is written in bulk in ``AuditLog``'s format
(``bench.audit``), its tree in ``audit_nodes`` (every complete subtree above the
leaves, as the writer stores it) and one signed head at size ``count``. Then, each against a
bare walk in the same run:

- the full verification (``vault audit verify --full``: the chain, the filter
  columns, the head's leaf proved against its signed root) against stdlib
  ``sqlite3`` + ``hashlib`` streaming the same events;
- the incremental verification (the head at ``count`` verified before, the
  ``TAIL`` events after it walked) against the same full bare walk;
- the inclusion proof of one random event of ``count`` (``ProofSource``, the
  route's code: head, event and nodes read from SQLite) against a bare
  ``hashlib`` walk of the tree's height.
"""

from __future__ import annotations

import hashlib
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.audit import _generate_chain, _raw_verify
from bench.common import Row, Section, Target, median, percentile, sample
from bench.stores import store

TAIL = 1_000
SEED = bytes(range(32))


def _store_tree(engine: Any, count: int) -> bytes:
    """Write every complete inner subtree of the events' chain hashes (leaves are read from
    the events, as the vault does); the root at ``count``."""
    from vault.transparency import hash_leaf, root_of_leaf_hashes

    with engine.connect() as conn:
        hashes = [
            bytes(row[0])
            for row in conn.exec_driver_sql("SELECT hash FROM audit_events ORDER BY seq")
        ]
    level, nodes = 0, [hash_leaf(h) for h in hashes]
    sha256 = hashlib.sha256
    with engine.begin() as conn:
        while nodes:
            if level:
                conn.exec_driver_sql(
                    "INSERT INTO audit_nodes (level, idx, hash) VALUES (?, ?, ?)",
                    [(level, index, node) for index, node in enumerate(nodes)],
                )
            nodes = [
                sha256(b"\x01" + left + right).digest()
                for left, right in zip(nodes[::2], nodes[1::2], strict=False)
            ]
            level += 1
    return root_of_leaf_hashes([hash_leaf(h) for h in hashes[:count]])


def _sign_head(engine: Any, count: int, root: bytes) -> Any:
    """Sign and store the head at ``count`` (the first head); its keeper."""
    from vault.audit.heads import HeadKeeper, NoteSigner
    from vault.audit.models import HEADS
    from vault.crypto.signing import Signer
    from vault.transparency import EMPTY_HEAD, Checkpoint, Note, sign_text, time_line
    from vault.transparency.checkpoint import prev_line

    signer = Signer(SEED)
    now = datetime.now(UTC).replace(microsecond=0)
    keeper = HeadKeeper(engine.dialect, signer, clock=lambda: now)
    extensions = (prev_line(EMPTY_HEAD), time_line(int(now.timestamp())))
    text = Checkpoint(keeper.origin, count, root, extensions).text()
    note = Note(text, (sign_text(text, keeper.origin, NoteSigner(signer)),)).render()
    with engine.begin() as conn:
        conn.execute(
            HEADS.insert().values(
                id=uuid.uuid4(),
                created_at=now,
                updated_at=now,
                size=count,
                root=root,
                time=now,
                key_id=signer.key_id,
                note=note,
                verified_at=None,
            )
        )
    return keeper, [signer.public_jwk()]


def run_sqlite(section: Section, count: int, budget: float) -> None:
    from vault.audit.incremental import verify_from_head
    from vault.audit.models import AuditCheckpointRow, AuditHeadRow, AuditNodeRow, AuditRow
    from vault.audit.proofs import ProofSource
    from vault.db import make_engine

    with store("sqlite") as url:
        engine = make_engine(url)
        for row in (AuditRow, AuditCheckpointRow, AuditNodeRow, AuditHeadRow):
            row.__table__.create(engine)  # type: ignore[attr-defined]  # SQLModel sets it
        started = time.perf_counter()
        _generate_chain(engine, count + TAIL)
        root = _store_tree(engine, count)
        keeper, keys = _sign_head(engine, count, root)
        setup = time.perf_counter() - started
        path = url.removeprefix("sqlite:///")

        started = time.perf_counter()
        _raw_verify(path)
        bare = time.perf_counter() - started
        started = time.perf_counter()
        full = verify_from_head(engine, keeper, public_keys=keys, full=True)
        full_s = time.perf_counter() - started
        if not full.ok:
            raise RuntimeError(f"the generated log did not verify: {full.problem}")
        started = time.perf_counter()
        tail = verify_from_head(engine, keeper, public_keys=keys)
        tail_s = time.perf_counter() - started
        if not tail.ok or tail.first_seq != count + 1:
            raise RuntimeError(f"the incremental verify did not start at the head: {tail}")

        rng = random.Random(20261201)
        source = ProofSource(engine, keeper)

        def prove() -> object:
            return source.inclusion(rng.randrange(1, count + 1))

        proving = sample(prove, max_count=2_000, max_seconds=budget)
        height = count.bit_length()

        def bare_walk() -> bytes:
            node = b"\x00" * 32
            for _ in range(height):
                node = hashlib.sha256(b"\x01" + node + node).digest()
            return node

        walk = median(sample(bare_walk, max_count=20_000, max_seconds=budget))
        engine.dispose()

    label = f"{count:,} events (SQLite)"
    section.rows += [
        Row(
            "verify --full",
            label,
            "verify_from_head(full=True)",
            full_s,
            "sqlite3 + hashlib walk",
            bare,
            "s",
        ),
        Row(
            "verify, incremental",
            f"{TAIL:,} events after a verified head of {count:,} (SQLite)",
            "verify_from_head",
            tail_s,
            "sqlite3 + hashlib walk of all",
            bare,
            "s",
        ),
        Row(
            "prove one event",
            label,
            "ProofSource.inclusion",
            median(proving) * 1e3,
            f"hashlib walk of {height}",
            walk * 1e3,
            "ms",
        ),
    ]
    p99 = percentile(proving, 99) * 1e3
    section.targets += [
        Target(
            f"prove one event of {label}",
            "under 5 ms",
            f"median {median(proving) * 1e3:.3f} ms, p99 {p99:.3f} ms",
            p99 < 5.0,
        ),
        Target(
            f"verify {label}, everything",
            "under 3 s",
            f"{full_s:.2f} s (bare walk {bare:.2f} s)",
            full_s * 1_000_000 / count < 3.0,
        ),
    ]
    section.notes.append(
        f"the SQLite log ({count + TAIL:,} events, every inner subtree node, one signed head) was "
        f"written in {setup:.1f} s"
    )
