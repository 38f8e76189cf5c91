"""The latest version of each account the audit log records, so an older row is refused.

An account's seal (``vault.identity.standing``) proves that a row is one the
vault wrote, but not that it is the latest: a database writer could copy back a
whole earlier row (from before the account was disabled, or before its second
factor was enrolled) and its seal would be genuine. So every change that
matters (``user.create``, ``user.approve``, ``user.disable``,
``user.mfa_enrol``, ``user.activate``) names, in its audit event, the epoch the row takes, and a
row whose sealed epoch is lower than the latest epoch the hash-chained audit
log records for its account is refused.

The same holds for bearer tokens: a logout names the token it revokes
(``auth.logout``), and a token a logout named stays refused whatever its row
says.

Each process keeps what it has read of those events and, on every check, reads
only the events appended since (by the index ``(subject_id, action, seq)``:
account events have no subject), so the check costs one small indexed query.
"""

from __future__ import annotations

import logging
import threading
import uuid
import weakref
from datetime import datetime
from typing import Protocol

from sqlalchemy import bindparam, literal_column, select

from vault.audit.canonical import decode_remembered, parse_time
from vault.audit.models import EVENTS
from vault.cursor_reads import Ahead, CursorReads, Reads
from vault.db import Database
from vault.vocabulary import EventAction

log = logging.getLogger("vault.identity")

EPOCH_DETAIL = "epoch"
# How many logouts to keep before forgetting those older than any live token.
KEEP_LOGOUTS = 4096
# The account changes whose events carry the epoch the row takes.
ANCHORING_ACTIONS = (
    EventAction.USER_CREATE.value,
    EventAction.USER_APPROVE.value,
    EventAction.USER_DISABLE.value,
    EventAction.USER_MFA_ENROL.value,
    EventAction.USER_ACTIVATE.value,
)
# A logout names the token it revokes: a token row revived in the database stays revoked.
LOGOUT = EventAction.AUTH_LOGOUT.value
_SINCE = select(EVENTS.c.seq, EVENTS.c.canonical).where(
    EVENTS.c.subject_id.is_(None),
    EVENTS.c.action.in_([literal_column(f"'{action}'") for action in (*ANCHORING_ACTIONS, LOGOUT)]),
    EVENTS.c.seq > bindparam("after"),
)


_CAUGHT_UP = ("account-events", "caught-up")


class Versioned(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def epoch(self) -> int: ...


class AccountEpochs:
    """What this process has read of the account events: the latest epoch of each account."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._after = 0  # the last event sequence number read
        self._latest: dict[uuid.UUID, int] = {}
        # Tokens a logout event names, with the logout's time.
        self._revoked: dict[uuid.UUID, datetime] = {}

    def _catch_up(self, reads: Reads) -> None:
        memo = reads.memo if isinstance(reads, CursorReads) else None
        if memo is not None:
            if _CAUGHT_UP in memo:
                return  # once per read: the epoch and the logout checks share it
            memo[_CAUGHT_UP] = True
        after = self._after
        found: dict[uuid.UUID, int] = {}
        revoked: dict[uuid.UUID, datetime] = {}
        high = after
        for seq, canonical in reads.execute(_SINCE, {"after": after}):
            high = max(high, int(seq))
            event = decode_remembered(bytes(canonical))
            target = event.get("target_id")
            if target is None or event.get("outcome") == "deny":
                continue
            if event.get("action") == LOGOUT:
                revoked[uuid.UUID(str(target))] = parse_time(str(event["time"]))
                continue
            epoch = (event.get("details") or {}).get(EPOCH_DETAIL)
            if isinstance(epoch, int):
                account = uuid.UUID(str(target))
                found[account] = max(found.get(account, 0), epoch)
        with self._lock:
            for account, epoch in found.items():
                self._latest[account] = max(self._latest.get(account, 0), epoch)
            self._revoked.update(revoked)
            self._after = max(self._after, high)

    def ahead(self) -> Ahead:
        """The statement the next check runs, to send ahead (``vault.ahead_reads``).

        Should another check read newer events first, the statement the check then
        asks differs, and it is done the ordinary way.
        """
        return (_SINCE, {"after": self._after})

    def revoked(self, reads: Reads, token_id: uuid.UUID, oldest: datetime) -> bool:
        """Whether a logout in the audit log revoked the token (whatever its row says).

        ``oldest``: logouts before it are forgotten once many are kept (a token is sealed
        with its expiry, so one issued before then has expired anyway).
        """
        self._catch_up(reads)
        if len(self._revoked) > KEEP_LOGOUTS:
            with self._lock:
                for old in [key for key, at in self._revoked.items() if at < oldest]:
                    del self._revoked[old]
        if token_id not in self._revoked:
            return False
        log.critical("token %s: revoked at a logout, but its row says otherwise", token_id)
        return True

    def latest(self, reads: Reads, account_id: uuid.UUID) -> int:
        """The latest epoch of the account the audit log records (0: none)."""
        self._catch_up(reads)
        return self._latest.get(account_id, 0)

    def current(self, reads: Reads, account: Versioned) -> bool:
        """Whether the row is the account's latest version the audit log knows of."""
        if account.epoch >= self.latest(reads, account.id):
            return True
        log.critical(
            "user %s: the row is an older version of the account than the audit log "
            "records; it is refused",
            account.id,
        )
        return False


_OF_STORE: weakref.WeakKeyDictionary[Database, AccountEpochs] = weakref.WeakKeyDictionary()
_OF_STORE_LOCK = threading.Lock()


def epochs_of(db: Database) -> AccountEpochs:
    """The one ``AccountEpochs`` of this process for the store (tokens and browser sessions
    share it, so the account events are read once)."""
    with _OF_STORE_LOCK:
        found = _OF_STORE.get(db)
        if found is None:
            found = _OF_STORE[db] = AccountEpochs()
        return found
