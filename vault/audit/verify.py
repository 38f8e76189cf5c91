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
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, Select, func, select, text
from sqlalchemy.exc import DBAPIError

from vault.audit.canonical import GENESIS_HASH, format_time
from vault.audit.checkpoints import Checkpoint, SignatureVerifier, default_verifier
from vault.audit.models import CHECKPOINTS, EVENTS
from vault.db import READ_ONLY_OPTION
from vault.errors import AuditUnavailable

# Rows fetched from the driver at a time: big enough that the fetch loop costs
# nothing beside hashing, small enough to bound memory (~20 MB of events).
STREAM_CHUNK = 50_000


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
    index_check = _IndexCheck(reader, since) if check_index else None
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
        last_good_checkpoint = since
        expected = since + 1
        prev = since_hash
        sha256 = hashlib.sha256
        try:
            for cp_seq in sorted(by_seq):
                for checkpoint in by_seq[cp_seq]:
                    if not check_signature(checkpoint):
                        raise _Failure(cp_seq, f"checkpoint at seq {cp_seq}: bad signature")
            # Checkpoint seqs in order; the loop compares ints, not a dict per row.
            checkpoint_seqs = iter(sorted({*by_seq, *leaves}))
            next_checkpoint = next(checkpoint_seqs, 0)
            for chunk in _stream(conn, _ALL_EVENTS.where(EVENTS.c.seq > since)):
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
            beyond = [cp_seq for cp_seq in {*by_seq, *leaves} if cp_seq >= expected]
            if beyond:
                raise _Failure(
                    expected,
                    f"a signed checkpoint or head names seq {max(beyond)} but the chain ends at "
                    f"{expected - 1}: events were removed from the end",
                )
        except _Failure as walk_failure:
            first = _earlier(walk_failure, index_check) or walk_failure
            return partial(
                ok=False,
                events=expected - 1,
                checkpoints=len(all_checkpoints),
                first_bad_seq=first.seq,
                problem=first.problem,
            )
        if progress is not None:
            progress(expected - 1, total)
        bad = _earlier(None, index_check)
        if bad is not None:
            return partial(
                ok=False,
                events=expected - 1,
                checkpoints=len(all_checkpoints),
                first_bad_seq=bad.seq,
                problem=bad.problem,
            )
        return partial(ok=True, events=expected - 1, checkpoints=len(all_checkpoints))


class _IndexCheck:
    """The filter-column check of every event present now, running in a worker thread."""

    def __init__(self, reader: Engine, since: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-audit-verify")
        self._result: Future[int | None] = self._pool.submit(self._run, reader, since)
        self._pool.shutdown(wait=False)

    @staticmethod
    def _run(reader: Engine, since: int) -> int | None:
        with reader.connect() as conn, conn.begin():
            head = conn.execute(select(func.max(EVENTS.c.seq))).scalar()
            return None if head is None else _first_index_mismatch(conn, int(head) + 1, since)

    def first_bad_seq(self) -> int | None:
        return self._result.result()


def _earlier(failure: _Failure | None, index_check: _IndexCheck | None) -> _Failure | None:
    """The walk's failure, or the filter-column failure if that one comes first."""
    seq = index_check.first_bad_seq() if index_check is not None else None
    if seq is None or (failure is not None and failure.seq <= seq):
        return failure
    return _Failure(
        seq,
        f"seq {seq}: its filter columns (time, action, outcome, actor, organisation, subject, "
        "break-glass) differ from its content",
    )


_ALL_EVENTS = select(EVENTS.c.seq, EVENTS.c.prev_hash, EVENTS.c.canonical, EVENTS.c.hash).order_by(
    EVENTS.c.seq
)
_INDEXED = select(
    EVENTS.c.seq,
    EVENTS.c.prev_hash,
    EVENTS.c.canonical,
    EVENTS.c.hash,
    EVENTS.c.time,
    EVENTS.c.action,
    EVENTS.c.outcome,
    EVENTS.c.actor_id,
    EVENTS.c.subject_id,
    EVENTS.c.break_glass,
    EVENTS.c.actor_org,
).order_by(EVENTS.c.seq)

# The first row whose filter columns differ from its canonical JSON, found by the
# database itself (one query in C, about half the cost of the chain walk). Both
# compare NULL safely; SQLite keeps UUIDs as 32 hex digits and times as
# 'YYYY-MM-DD HH:MM:SS.ffffff'.
_FIRST_INDEX_MISMATCH = {
    "sqlite": """
SELECT min(seq) FROM (
  SELECT seq, action, outcome, actor_id, actor_org, subject_id, break_glass, time,
         CAST(canonical AS TEXT) AS j
  FROM audit_events WHERE seq < :limit AND seq > :since)
WHERE json_extract(j, '$.action') IS NOT action
   OR json_extract(j, '$.actor_org') IS NOT actor_org
   OR json_extract(j, '$.outcome') IS NOT outcome
   OR replace(json_extract(j, '$.actor_id'), '-', '') IS NOT actor_id
   OR replace(json_extract(j, '$.subject_id'), '-', '') IS NOT subject_id
   OR json_extract(j, '$.break_glass') IS NOT break_glass
   OR replace(replace(json_extract(j, '$.time'), 'T', ' '), 'Z', '') IS NOT time
""",
    "postgresql": """
SELECT min(seq) FROM (
  SELECT seq, action, outcome, actor_id, actor_org, subject_id, break_glass, time,
         convert_from(canonical, 'UTF8')::jsonb AS j
  FROM audit_events WHERE seq < :limit AND seq > :since) e
WHERE j->>'action' IS DISTINCT FROM action
   OR j->>'actor_org' IS DISTINCT FROM actor_org
   OR j->>'outcome' IS DISTINCT FROM outcome
   OR (j->>'actor_id')::uuid IS DISTINCT FROM actor_id
   OR (j->>'subject_id')::uuid IS DISTINCT FROM subject_id
   OR (j->>'break_glass')::boolean IS DISTINCT FROM break_glass
   OR (j->>'time')::timestamptz IS DISTINCT FROM time
""",
}


def _first_index_mismatch(conn: Connection, limit: int, since: int = 0) -> int | None:
    """The first seq in ``since + 1..limit - 1`` whose filter columns lie about its content."""
    query = _FIRST_INDEX_MISMATCH.get(conn.dialect.name)
    if query is not None:
        try:
            with conn.begin_nested():
                found = conn.execute(text(query), {"limit": limit, "since": since}).scalar()
            return None if found is None else int(found)
        except DBAPIError:
            pass  # content the database cannot parse: find the row the slow way below
    matches = _index_checker(conn.dialect.name)
    for chunk in _stream(conn, _INDEXED.where(EVENTS.c.seq > since)):
        for row in chunk:
            if row[0] >= limit:
                return None
            if not matches(row):
                return int(row[0])
    return None


def _index_checker(dialect: str) -> Callable[[tuple[Any, ...]], bool]:
    """Whether a row's filter columns say what its canonical bytes say.

    The API filters on these columns (a subject's disclosures, an actor's events,
    a time range), so a column re-pointed behind the vault's back would hide an
    event from those views while the hash chain still verified. The check looks
    for the exact ``"key":value`` snippets in the canonical JSON: with sorted keys
    and escaped strings, such a snippet can only stand at that key.
    """
    if dialect == "sqlite":  # UUIDs as 32 hex digits, times as 'YYYY-MM-DD HH:MM:SS.ffffff'

        def uuid_text(value: Any) -> str:
            return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"

        def time_text(value: Any) -> str:
            return str(value)[:26].replace(" ", "T") + "Z"

    else:

        def uuid_text(value: Any) -> str:
            return str(value)

        def time_text(value: Any) -> str:
            return format_time(value)

    def snippet_id(key: bytes, value: Any) -> bytes:
        if value is None:
            return key + b"null"
        return key + b'"' + uuid_text(value).encode() + b'"'

    def matches(row: tuple[Any, ...]) -> bool:
        _seq, _prev, canonical, _hash, moment, action, outcome, actor, subject, glass, org = row
        return (
            b'"action":"' + str(action).encode() + b'"' in canonical
            and b'"outcome":"' + str(outcome).encode() + b'"' in canonical
            and b'"time":"' + time_text(moment).encode() + b'"' in canonical
            and snippet_id(b'"actor_id":', actor) in canonical
            and snippet_id(b'"subject_id":', subject) in canonical
            and (b'"break_glass":true' if glass else b'"break_glass":false') in canonical
            and b'"actor_org":' + json.dumps(org, ensure_ascii=False).encode() in canonical
        )

    return matches


def partial_report(since: int, full: bool) -> Callable[..., VerifyReport]:
    """A report maker that states the range walked (events after ``since``)."""

    def make(**values: Any) -> VerifyReport:
        return VerifyReport(**values, first_seq=since + 1, from_head=since, full=full)

    return make


def _what_broke(
    seq: int, expected: int, prev_hash: bytes, prev: bytes, digest: bytes, computed: bytes
) -> tuple[int, str]:
    """(first bad seq, problem) of a row that failed the combined check of the hot loop."""
    if seq != expected:
        return expected, f"seq {expected} is missing" if seq > expected else f"seq {seq} repeats"
    if prev_hash != prev:
        return seq, f"seq {seq}: prev_hash does not match the event before"
    return seq, f"seq {seq}: its hash does not match its content"


def _stream(conn: Connection, query: Select[Any] = _ALL_EVENTS) -> Iterator[list[tuple[Any, ...]]]:
    """Every event in seq order, as lists of plain tuples straight from the driver.

    One query on the DBAPI cursor, read with ``fetchmany``: SQLAlchemy's result
    rows, one object per event, cost more than hashing them. PostgreSQL gets a
    named (server-side) cursor so memory stays bounded; it is closed when
    verification stops, early or not. Both drivers return int and bytes.
    """
    driver = conn.connection.driver_connection
    if driver is None:  # a live connection inside conn.begin() always has one
        raise AuditUnavailable("The audit log's store connection is closed.")
    # Only integers are bound (``seq > since``): rendered inline, one plain statement.
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    if conn.dialect.name == "postgresql":
        cursor = driver.cursor(name="vault_audit_verify")
        cursor.itersize = STREAM_CHUNK
    else:
        cursor = driver.cursor()
    try:
        cursor.execute(sql)
        while chunk := cursor.fetchmany(STREAM_CHUNK):
            yield chunk
    finally:
        cursor.close()


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
