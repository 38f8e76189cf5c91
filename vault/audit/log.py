"""``AuditLog``: the append-only, hash-chained, group-committed audit log.

A caller never returns before its event is durable; if the batch holding it
cannot be committed every caller in it gets ``AuditUnavailable`` and nothing
of the batch remains (one transaction). The parts, one module each:

- ``vault.audit.group_commit``: the queue and the writer thread that batches;
- ``vault.audit.loop_commit``: on SQLite, the loop's callers' batches, on the loop;
- ``vault.audit.chain``: the locked transaction, the head, the rows written;
- ``vault.audit.schedule``: when a checkpoint of the head is signed.

A tree head is checked (``vault.audit.heads``) in a snapshot without the chain's
lock, a long tail on a thread of its own; only the signing takes the lock.

The writer has its own engine and connections: a caller may hold a READ
transaction open while it appends (WAL lets the writer commit past it), but
never a WRITE session on SQLite (the writer would wait for that lock).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import Engine

from vault import requestctx
from vault.audit.chain import Chain, ChainTampered, Head
from vault.audit.checkpoints import Checkpoint, CheckpointSigner
from vault.audit.events import AuditEvent, Outcome
from vault.audit.group_commit import (
    ExpectedEvent,
    GroupCommitWriter,
    Pending,
    log_failed_batch,
    refusals,
    settle,
    time_out,
    unconfirmed,
)
from vault.audit.halts import Halts
from vault.audit.heads import DEFAULT_ORIGIN, CheckedHead, HeadKeeper, HeadRefused
from vault.audit.loop_commit import LoopCommitter

# Re-exported: other capabilities (rate limits, attestation) read the tables through here.
from vault.audit.models import CHECKPOINTS, EVENTS
from vault.audit.schedule import CheckpointSchedule, SigningAside
from vault.db import make_engine, utcnow
from vault.errors import AuditUnavailable
from vault.vocabulary import EventAction

__all__ = ["CHECKPOINTS", "EVENTS", "AuditLog", "ExpectedEvent"]

log = logging.getLogger("vault.audit")

# A scheduled head over more events than this since the last signed one is checked
# on its own thread: recomputing 12.9 million bulk-loaded events took 131 s, and on
# the writer thread every read waiting for its event failed closed meanwhile. Below
# it (a head every 1,000 events by default) the check costs a few milliseconds.
HEAD_INLINE_EVENTS = 5_000


class AuditLog:
    """Implements ``vault.audit.events.AuditSink``; one per process, shared by all threads."""

    def __init__(
        self,
        database_url: str,
        *,
        clock: Callable[[], datetime] = utcnow,
        signer: CheckpointSigner | None = None,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 300.0,
        batch_max: int = 256,
        gather_seconds: float = 0.002,
        wait_seconds: float = 30.0,
        engine: Engine | None = None,
        origin: str = DEFAULT_ORIGIN,
        on_loop: bool = False,
    ) -> None:
        self._url = database_url
        self.origin = origin
        self._heads: HeadKeeper | None = None
        self._halts: Halts | None = None
        self._engine = engine
        self._chain: Chain | None = None
        self._clock = clock
        self._signer = signer
        self._wait_seconds = wait_seconds
        self._checkpoint_lock = threading.Lock()
        self._schedule = CheckpointSchedule(
            enabled=signer is not None, every=checkpoint_every, seconds=checkpoint_seconds
        )
        self._aside = SigningAside(self._checkpoint_logged, self._schedule.due)
        self._on_loop = (  # on SQLite, the loop's callers commit on the loop
            LoopCommitter(
                partial(self._write, wait=False),
                self._hand_off,
                self._schedule,
                self._aside.request,
                wait_seconds=wait_seconds,
            )
            if on_loop and database_url.startswith("sqlite")
            else None
        )
        self._writer = GroupCommitWriter(
            self._commit,
            self._checkpoint_quietly,
            self._schedule.idle_timeout,
            batch_max=batch_max,
            gather_seconds=gather_seconds,
        )

    # -- the public surface -------------------------------------------------

    def append(self, event: AuditEvent) -> int:
        """Record the event durably; return its sequence number.

        Blocks until the batch holding it is committed. Raises ``AuditUnavailable``
        if it cannot be (the caller must then disclose nothing).
        """
        done: Future[int] = Future()
        self._enqueue(Pending(self._stamped(event), done=done))
        try:
            return done.result(timeout=self._wait_seconds)
        except FutureTimeout:
            raise unconfirmed() from None

    @contextmanager
    def expecting(self) -> Iterator[ExpectedEvent]:
        """Announce an event this caller is about to append (``append_async(..., slot)``).

        A read's event arrives only once its decision is made, just after the writer
        may have committed alone (measured: 1.5 events a commit at 32 concurrent
        reads); the writer waits up to ``gather_seconds`` for announced events.
        """
        slot = ExpectedEvent(self._writer)
        try:
            yield slot
        finally:
            slot.release()

    @property
    def expected(self) -> int:
        """How many announced events are not queued yet."""
        return self._writer.expected

    async def append_async(self, event: AuditEvent, slot: ExpectedEvent | None = None) -> int:
        """``append`` for a caller on the event loop: awaits durability without a thread.

        The same guarantee: it returns only once the event is committed, and raises
        ``AuditUnavailable`` if it cannot be (the caller then discloses nothing).
        """
        if self._on_loop is not None:
            if self._writer.closed:
                raise AuditUnavailable("The audit log is closed.")
            self._adopt_fork()
            if slot is not None:
                slot.release()  # nothing waits for announced events on the loop
            return await self._on_loop.append(self._stamped(event))
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[int] = loop.create_future()
        self._enqueue(Pending(self._stamped(event), waiter=waiter))
        if slot is not None:
            slot.release()  # queued: the writer need not wait for it any longer
        time_out(waiter, self._wait_seconds)
        return await waiter

    def checkpoint_now(self) -> Checkpoint | None:
        """Sign a checkpoint of the current head (None if there is no signer or nothing new)."""
        try:
            return self._checkpoint()
        except ChainTampered:
            raise AuditUnavailable(
                "The audit chain is shorter than, or differs from, what this process wrote; "
                "run `vault audit verify`."
            ) from None

    def close(self) -> None:
        """Write what is queued, checkpoint the tail, stop the writer, release the engine."""
        stopped = self._writer.stop()
        self._aside.close()
        if stopped and self._schedule.uncheckpointed:
            try:
                self._checkpoint()
            except Exception as exc:  # noqa: BLE001  (a failed final checkpoint must not stop shutdown)
                log.error("audit: the closing checkpoint failed (%s)", type(exc).__name__)
        if self._chain is not None:
            self._chain.close()
        # Every time: a proof or verify read after a first close checks out a connection.
        if self._engine is not None:
            self._engine.dispose()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            # Its own engine: the writer's transactions never share a connection
            # (or, on SQLite, a lock) with the request that is waiting for it.
            self._engine = make_engine(self._url)
        return self._engine

    # -- writing a batch ----------------------------------------------------

    def _stamped(self, event: AuditEvent) -> AuditEvent:
        """The event with its time and the current request's id and address filled in."""
        changes: dict[str, Any] = {}
        info = requestctx.current()
        if info is not None:
            if event.request_id is None:
                changes["request_id"] = info.request_id
            if event.client_addr is None:
                changes["client_addr"] = info.client_addr
        if event.time is None:
            changes["time"] = self._clock()
        return replace(event, **changes) if changes else event

    def _enqueue(self, pending: Pending) -> None:
        self._adopt_fork()
        self._writer.put(pending)

    def _adopt_fork(self) -> None:
        if self._writer.adopt_fork():
            # A forked child: the parent's connections are not ours (the kept ones
            # were set aside at the fork, ``vault.kept_connections``).
            self._engine = None
            self._chain = None

    def _chain_of(self) -> Chain:
        if self._chain is None:
            self._chain = Chain(self.engine)
            self._heads = None
            self._halts = None
        return self._chain

    def heads(self) -> HeadKeeper | None:
        """The signer of tree heads (None without a signing key)."""
        if self._signer is None:
            return None
        if self._heads is None:
            jwk = getattr(self._signer, "public_jwk", None)
            if not callable(jwk) or jwk().get("kty") != "OKP":
                return None  # tree heads are Ed25519 notes: another key signs only checkpoints
            self._heads = HeadKeeper(
                self.engine.dialect, self._signer, origin=self.origin, clock=self._clock
            )
        return self._heads

    def resume(self) -> None:
        """Mark every halt resolved (an operator acted); the next head is checked again."""
        chain = self._chain_of()
        with chain.transaction() as (cursor, _):
            self.halts().resolve(cursor)

    def halts(self) -> Halts:
        if self._halts is None:
            self._halts = Halts(self.engine.dialect)
        return self._halts

    def _commit(self, batch: list[Pending]) -> None:
        """Write one batch in one transaction and release its callers (writer thread)."""
        try:
            seqs = self._write(batch)
        except Exception as exc:  # noqa: BLE001  (whatever broke, every caller must learn it)
            log_failed_batch(len(batch), exc)
            settle(refusals(batch))
            return
        self._schedule.written(len(batch))
        settle(list(zip(batch, seqs, strict=True)))

    def _hand_off(self, batch: list[Pending]) -> None:
        for pending in batch:
            self._enqueue(pending)

    def _write(self, batch: list[Pending], *, wait: bool = True) -> list[int]:
        chain = self._chain_of()
        halts = self.halts()
        with chain.transaction(wait=wait) as (cursor, head):
            if halts.halted(cursor):
                raise AuditUnavailable("The audit log refused a tree head; an operator must act.")
            seq, head_hash = self._append_batch(cursor, head, [p.event for p in batch])
        chain.committed((seq, head_hash))
        first = seq - len(batch) + 1
        return list(range(first, seq + 1))

    def _append_batch(self, cursor: Any, head: Head, events: Sequence[AuditEvent]) -> Head:
        """Insert a batch after ``head``, inside the chain's transaction; the new head."""
        return self._chain_of().append(cursor, head, events, utcnow())

    # -- checkpoints --------------------------------------------------------

    def _checkpoint_quietly(self) -> None:
        """The writer's idle hook: sign a head when one is due, off the writer if long."""
        if not self._schedule.due() or self._aside.busy:
            return
        try:
            tail = self._unsigned_tail()
            if tail > HEAD_INLINE_EVENTS:
                log.info("audit: checking the %d events since the last signed head aside", tail)
                self._aside.request()
                return
        except Exception as exc:  # noqa: BLE001  (as a failed checkpoint: retried later)
            log.error("audit: checkpoint failed (%s)", type(exc).__name__)
            return
        self._checkpoint_logged()

    def _checkpoint_logged(self) -> bool:
        try:
            self._checkpoint()
        except Exception as exc:  # noqa: BLE001  (events stay durable; the next batch retries)
            log.error("audit: checkpoint failed (%s)", type(exc).__name__)
            return False
        return True

    def _unsigned_tail(self) -> int:
        """How many events came since the last signed head (0 without a head signer)."""
        heads = self.heads()
        if heads is None:
            return 0
        with self._chain_of().snapshot() as (cursor, (seq, _)):
            last = heads.last(cursor)
        return seq - (0 if last is None else last.size)

    def _precheck(self, heads: HeadKeeper) -> CheckedHead | None:
        """The next head checked in a snapshot, without the chain's lock (None: check it
        under the lock, where a refusal is recorded)."""
        try:
            with self._chain_of().snapshot() as (cursor, (seq, _)):
                if self.halts().halted(cursor, fresh=True):
                    return None
                return heads.precheck(cursor, seq)
        except HeadRefused:
            return None  # confirmed and recorded under the lock, below

    def _checkpoint(self) -> Checkpoint | None:
        signer = self._signer
        if signer is None:
            return None
        heads = self.heads()
        with self._checkpoint_lock:
            counted = self._schedule.uncheckpointed
            checked = None if heads is None else self._precheck(heads)
            checkpoint, refused = self._sign_locked(signer, heads, checked)
        if refused is not None:
            raise AuditUnavailable(
                "The audit log does not extend its last signed head; signing stopped "
                "(run `vault audit verify`)."
            )
        self._schedule.signed(covered=counted)
        return checkpoint

    def _sign_locked(
        self, signer: CheckpointSigner, heads: HeadKeeper | None, checked: CheckedHead | None
    ) -> tuple[Checkpoint | None, HeadRefused | None]:
        """Under the chain's lock: sign the tree head (checked again here when the check
        in the snapshot did not stand) and the checkpoint of the chain's head."""
        chain = self._chain_of()
        checkpoint: Checkpoint | None = None
        with chain.transaction() as (cursor, (seq, head_hash)):
            chain.committed((seq, head_hash))
            if heads is not None and not self.halts().halted(cursor, fresh=True):
                try:
                    if checked is None or not heads.sign_checked(cursor, checked, utcnow()):
                        heads.sign(cursor, seq, utcnow())
                except HeadRefused as refused:
                    self._halt(cursor, (seq, head_hash), refused)
                    return None, refused
            if seq > 0 and chain.last_checkpoint_seq(cursor) < seq:
                checkpoint = Checkpoint.create(signer, seq, head_hash, self._clock())
                chain.insert_checkpoint(cursor, checkpoint, utcnow())
        return checkpoint, None

    def _halt(self, cursor: Any, head: Head, refused: HeadRefused) -> None:
        """Record the refusal (a CRITICAL alert event and a halt) in the same transaction."""
        log.critical(
            "audit: refused to sign the head at size %d: %s", refused.size, refused.problem
        )
        alert = AuditEvent(
            action=EventAction.AUDIT_HEAD_REFUSED.value,
            outcome=Outcome.ERROR,
            reason=refused.problem,
            details={"severity": "critical", "size": refused.size},
            time=self._clock(),
        )
        chain = self._chain_of()
        new_head = chain.append(cursor, head, [alert], utcnow())
        self.halts().halt(cursor, refused.size, refused.problem, self._clock())
        chain.committed(new_head)
