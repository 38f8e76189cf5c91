"""Verification of the audit chain and its checkpoints, streaming.

Checks, in one pass in ``seq`` order: sequence numbers start at 1 without gaps
or repeats; every ``prev_hash`` is the hash of the event before it; every
``hash`` is ``SHA-256(prev_hash || canonical)``; every checkpoint (from the
vault's table and any pinned externally) carries a valid signature by a
published key and names the head hash the chain really has at its ``seq``; no
checkpoint names a ``seq`` beyond the end of the chain (a truncation).

What it cannot see on its own: events appended after the newest checkpoint
are protected by the chain only, so someone with write access to the database
can rewrite or drop that tail consistently. Checkpoints signed often (every N
events or T seconds, and on shutdown) and copies pinned outside the vault
bound that window; see README.md, "What verification cannot see on its own".
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text

from vault.audit.canonical import GENESIS_HASH
from vault.audit.checkpoints import Checkpoint, SignatureVerifier, default_verifier
from vault.audit.columns import IndexCheck, stream_rows
from vault.audit.models import CHECKPOINTS, EVENTS
from vault.db import READ_ONLY_OPTION


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    events: int
    checkpoints: int
    first_bad_seq: int | None = None
    problem: str | None = None
    # The range checked: events first_seq..events, walked on from the signed head of
    # size from_head (0: from the start); full when everything was walked.
    first_seq: int = 1
    from_head: int = 0
    full: bool = True
    # Non-fatal observations (e.g. a pinned checkpoint the vault's table lacks).
    notes: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "events": self.events,
            "checkpoints": self.checkpoints,
            "first_bad_seq": self.first_bad_seq,
            "problem": self.problem,
            "first_seq": self.first_seq,
            "from_head": self.from_head,
            "full": self.full,
        }


def stored_checkpoints(conn: Connection) -> list[Checkpoint]:
    rows = conn.execute(
        select(
            CHECKPOINTS.c.seq,
            CHECKPOINTS.c.head_hash,
            CHECKPOINTS.c.time,
            CHECKPOINTS.c.key_id,
            CHECKPOINTS.c.signature,
        ).order_by(CHECKPOINTS.c.seq)
    )
    return [
        Checkpoint(
            seq=int(seq), head_hash=bytes(head), time=moment, key_id=key_id, signature=bytes(sig)
        )
        for seq, head, moment, key_id, sig in rows
    ]


class _Failure(Exception):
    def __init__(self, seq: int, problem: str) -> None:
        super().__init__(problem)
        self.seq = seq
        self.problem = problem


def verify_chain(
    engine: Engine,
    *,
    public_keys: Sequence[Mapping[str, str]] = (),
    pinned: Iterable[Checkpoint] = (),
    verifier: SignatureVerifier | None = None,
    progress: Callable[[int, int], None] | None = None,
    check_index: bool = True,
    since: int = 0,
    since_hash: bytes = GENESIS_HASH,
    leaves: Mapping[int, bytes] | None = None,
) -> VerifyReport:
    """Verify the whole chain; ``progress(done, total)`` is called every chunk.

    ``public_keys`` are the signing keys' public JWKs (current and retired);
    ``pinned`` are checkpoints kept outside the vault. With no keys, any
    checkpoint fails (an unverifiable checkpoint proves nothing).
    ``check_index`` also checks every row's filter columns against its content
    (on by default; off only to measure the chain walk alone).

    ``since``/``since_hash``: walk only the events after ``since``, whose chain
    hash the caller has already checked (``vault.audit.incremental``); checkpoints
    at or before it are not looked at. ``leaves`` maps a seq to the leaf hash a
    signed tree head holds for it: the walk's chain hash there must give it.
    """
    reader = engine.execution_options(**{READ_ONLY_OPTION: True})
    # The filter-column check runs in the database, on its own connection, while
    # this thread walks the chain: on two cores the two overlap. Both look at the
    # events that existed when verification started (events never change after).
    index_check = IndexCheck(reader, since) if check_index else None
    leaves = dict(leaves or {})
    with reader.connect() as conn, conn.begin():
        all_checkpoints = []
        seen: set[tuple[int, bytes]] = set()
        for checkpoint in [*stored_checkpoints(conn), *pinned]:
            if checkpoint.seq > since and (checkpoint.seq, checkpoint.signature) not in seen:
                seen.add((checkpoint.seq, checkpoint.signature))
                all_checkpoints.append(checkpoint)
        total = int(conn.execute(select(func.count()).select_from(EVENTS)).scalar_one())
        partial = partial_report(since, since == 0)
        by_seq: dict[int, list[Checkpoint]] = {}
        for checkpoint in all_checkpoints:
            by_seq.setdefault(checkpoint.seq, []).append(checkpoint)
        check_signature = _signature_checker(public_keys, verifier)
        walk = _Walk(since, since_hash, by_seq, leaves, progress, total)
        try:
            for cp_seq in sorted(by_seq):
                for checkpoint in by_seq[cp_seq]:
                    if not check_signature(checkpoint):
                        raise _Failure(cp_seq, f"checkpoint at seq {cp_seq}: bad signature")
            if conn.dialect.name == "sqlite" and since == 0:
                # Storage order: a table scan, no index lookup per row. Rows out of seq
                # order (possible, never written so) fail it: walk again in seq order.
                try:
                    walk.run(stream_rows(conn, _IN_STORAGE_ORDER))
                except _Failure:
                    walk = _Walk(since, since_hash, by_seq, leaves, progress, total)
                    walk.run(stream_rows(conn, _ALL_EVENTS))
            else:
                walk.run(stream_rows(conn, _ALL_EVENTS.where(EVENTS.c.seq > since)))
        except _Failure as walk_failure:
            first = _earlier(walk_failure, index_check) or walk_failure
            return partial(
                ok=False,
                events=walk.expected - 1,
                checkpoints=len(all_checkpoints),
                first_bad_seq=first.seq,
                problem=first.problem,
            )
        if progress is not None:
            progress(walk.expected - 1, total)
        bad = _earlier(None, index_check)
        if bad is not None:
            return partial(
                ok=False,
                events=walk.expected - 1,
                checkpoints=len(all_checkpoints),
                first_bad_seq=bad.seq,
                problem=bad.problem,
            )
        return partial(ok=True, events=walk.expected - 1, checkpoints=len(all_checkpoints))


class _Walk:
    """The chain walk in ``seq`` order: links, hashes, checkpoints and signed leaves."""

    def __init__(
        self,
        since: int,
        since_hash: bytes,
        by_seq: Mapping[int, list[Checkpoint]],
        leaves: Mapping[int, bytes],
        progress: Callable[[int, int], None] | None,
        total: int,
    ) -> None:
        self.expected = since + 1
        self._since, self._prev, self._by_seq, self._leaves = since, since_hash, by_seq, leaves
        self._progress, self._total = progress, total

    def run(self, chunks: Generator[list[tuple[Any, ...]], None, None]) -> None:
        by_seq, leaves, progress, total = self._by_seq, self._leaves, self._progress, self._total
        last_good_checkpoint, expected, prev = self._since, self.expected, self._prev
        sha256 = hashlib.sha256
        # Checkpoint seqs in order; the loop compares ints, not a dict per row.
        checkpoint_seqs = iter(sorted({*by_seq, *leaves}))
        next_checkpoint = next(checkpoint_seqs, 0)
        try:
            for chunk in chunks:
                for seq, prev_hash, canonical, digest in chunk:
                    computed = sha256(prev + canonical).digest()  # == link_hash, inlined
                    if seq != expected or prev_hash != prev or digest != computed:
                        raise _Failure(
                            *_what_broke(seq, expected, prev_hash, prev, digest, computed)
                        )
                    if seq == next_checkpoint:
                        if seq in leaves and sha256(b"\x00" + computed).digest() != leaves[seq]:
                            raise _Failure(
                                last_good_checkpoint + 1,
                                f"the chain at seq {seq} differs from the signed tree head of size "
                                f"{seq}: events {last_good_checkpoint + 1}..{seq} were rewritten",
                            )
                        if any(cp.head_hash != computed for cp in by_seq.get(seq, ())):
                            # The chain up to here is self-consistent, so it was rewritten
                            # from after the last checkpoint that still matches.
                            raise _Failure(
                                last_good_checkpoint + 1,
                                f"the chain at seq {seq} differs from its signed checkpoint: "
                                f"events {last_good_checkpoint + 1}..{seq} were rewritten",
                            )
                        last_good_checkpoint = seq
                        next_checkpoint = next(checkpoint_seqs, 0)
                    prev = computed
                    expected += 1
                if progress is not None:
                    progress(expected - 1, total)
        finally:
            self.expected = expected
            chunks.close()  # its cursor now, while the connection is open
        beyond = [cp_seq for cp_seq in {*by_seq, *leaves} if cp_seq >= expected]
        if beyond:
            raise _Failure(
                expected,
                f"a signed checkpoint or head names seq {max(beyond)} but the chain ends at "
                f"{expected - 1}: events were removed from the end",
            )


_ALL_EVENTS = select(EVENTS.c.seq, EVENTS.c.prev_hash, EVENTS.c.canonical, EVENTS.c.hash).order_by(
    EVENTS.c.seq
)
_IN_STORAGE_ORDER = text("SELECT seq, prev_hash, canonical, hash FROM audit_events ORDER BY rowid")


def partial_report(since: int, full: bool) -> Callable[..., VerifyReport]:
    """A report maker that states the range walked (events after ``since``)."""

    def make(**values: Any) -> VerifyReport:
        return VerifyReport(**values, first_seq=since + 1, from_head=since, full=full)

    return make


def _earlier(failure: _Failure | None, index_check: IndexCheck | None) -> _Failure | None:
    """The walk's failure, or the filter-column failure if that one comes first."""
    seq = index_check.first_bad_seq() if index_check is not None else None
    if seq is None or (failure is not None and failure.seq <= seq):
        return failure
    return _Failure(
        seq,
        f"seq {seq}: its filter columns (time, action, outcome, actor, organisation, subject, "
        "break-glass) differ from its content",
    )


def _what_broke(
    seq: int, expected: int, prev_hash: bytes, prev: bytes, digest: bytes, computed: bytes
) -> tuple[int, str]:
    """(first bad seq, problem) of a row that failed the combined check of the hot loop."""
    if seq != expected:
        return expected, f"seq {expected} is missing" if seq > expected else f"seq {seq} repeats"
    if prev_hash != prev:
        return seq, f"seq {seq}: prev_hash does not match the event before"
    return seq, f"seq {seq}: its hash does not match its content"


def _signature_checker(
    public_keys: Sequence[Mapping[str, str]], verifier: SignatureVerifier | None
) -> Callable[[Checkpoint], bool]:
    chosen: list[SignatureVerifier] = [verifier] if verifier is not None else []

    def check(checkpoint: Checkpoint) -> bool:
        if not public_keys:
            return False
        if not chosen:
            chosen.append(default_verifier())
        return checkpoint.signature_valid(public_keys, chosen[0])

    return check
