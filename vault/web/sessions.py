"""Browser sessions of the kiosk and the dashboard, kept in the database.

The cookie carries a random 256-bit value; the row is found by its SHA-256.
Sessions end after a period of inactivity (a setting per kind), after an
absolute lifetime whatever the activity (``VAULT_WEB_SESSION_MAX_SECONDS``),
when ended explicitly, when a kiosk session is handed back, or when the staff
member's account is disabled. Every request re-reads the account: a session
whose account is no longer active, or whose role or organisation is no longer
the account's own as sealed, ends at once (the pages never trust a role kept
only in the session). Every worker process sees the same rows, so ending a
session takes effect everywhere at once.

Ending a session (a logout, a kiosk handed back) names it in an ``auth.logout``
audit event before its row is ended, as a bearer token's logout does: a row
saved before the end and written back by a database writer carries a genuine
seal, but the hash-chained audit log says the session ended, and it is refused
(``vault.identity.epochs``). Every other end (idle, lifetime, account) follows
from sealed columns or the account's own epoch, which a copied row cannot undo.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.crypto.columns import ColumnSealer
from vault.db import Database
from vault.identity.epochs import epochs_of
from vault.identity.models import User
from vault.identity.session_models import WebSession
from vault.identity.standing import may_act
from vault.vocabulary import EventAction, Principal, Role

log = logging.getLogger("vault.web")

TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 128


class SessionKind(StrEnum):
    STAFF = "staff"  # an officer or counselor about to open a kiosk session
    KIOSK = "kiosk"  # the tablet in the subject's hands, bound to one subject
    DASHBOARD = "dashboard"  # a compliance officer


@dataclass(frozen=True)
class StaffIdentity:
    """Who logged in at a web login page (never carries a password)."""

    id: uuid.UUID
    username: str
    role: str
    organization: str


@dataclass(frozen=True)
class ActiveSession:
    """A resolved, unexpired session as the handlers see it."""

    id: uuid.UUID
    kind: SessionKind
    user_id: uuid.UUID
    username: str
    role: str
    organization: str
    subject_id: uuid.UUID | None
    csrf_token: str
    language: str
    flow: dict[str, Any]


TABLE = "web_sessions"
BINDING_COLUMN = "binding"


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value is not None else ""


def _binding(row: WebSession) -> str:
    """What a session's ``binding_seal`` holds: everything that decides what it may do and
    for how long (its cookie's digest, its opening, last use and end), and where it is in
    a signing flow (its language and the digest of its flow: the form, the subject's
    choices, whether a guardian signs, the sentra named)."""
    parts = (row.kind, str(row.user_id), row.username, row.role, row.organization)
    times = (_moment(row.created_at), _moment(row.last_seen_at), _moment(row.ended_at))
    flow = (row.language, hashlib.sha256(row.flow.encode("utf-8")).hexdigest())
    return "\n".join((*parts, str(row.subject_id or ""), row.token_hash, *times, *flow))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _finish(row: WebSession, now: datetime) -> None:
    """End a session for good: an ended session keeps no seal, so no change of its row
    (its end cleared) can ever make it resolve again."""
    row.ended_at = now
    row.binding_seal = None


def _active(row: WebSession) -> ActiveSession:
    try:
        flow = json.loads(row.flow)
    except ValueError:
        flow = {}
    return ActiveSession(
        id=row.id,
        kind=SessionKind(row.kind),
        user_id=row.user_id,
        username=row.username,
        role=row.role,
        organization=row.organization,
        subject_id=row.subject_id,
        csrf_token=row.csrf_token,
        language=row.language,
        flow=flow if isinstance(flow, dict) else {},
    )


class WebSessions:
    """Opens, resolves, updates and ends browser sessions."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        idle_seconds: dict[SessionKind, int],
        sealer: ColumnSealer,
        max_seconds: int,
        audit: AuditSink,
        logout_horizon: timedelta | None = None,
    ) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock
        self._idle = idle_seconds
        self._sealer = sealer
        self._lifetime = timedelta(seconds=max_seconds)
        # How long logouts are remembered (vault.identity.epochs keeps those of bearer
        # tokens and browser sessions in one record): the longer of the two lifetimes.
        self._logout_horizon = max(self._lifetime, logout_horizon or self._lifetime)

    def open(
        self,
        kind: SessionKind,
        staff: StaffIdentity,
        *,
        subject_id: uuid.UUID | None = None,
        language: str = "id",
    ) -> tuple[str, ActiveSession]:
        """Create a session; return the cookie value (shown once) and the session."""
        if (kind is SessionKind.KIOSK) != (subject_id is not None):
            raise ValueError("a kiosk session, and only a kiosk session, is bound to a subject")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        row = WebSession(
            token_hash=token_digest(token),
            kind=kind.value,
            user_id=staff.id,
            username=staff.username,
            role=staff.role,
            organization=staff.organization,
            subject_id=subject_id,
            csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
            language=language,
            created_at=self._clock(),
            last_seen_at=self._clock(),
        )
        self._seal(row)
        with self._db.session() as session:
            session.add(row)
        return token, _active(row)

    def _seal(self, row: WebSession) -> None:
        """Seal the live session as it now is: call it after every change of a sealed column."""
        row.binding_seal = self._sealer.seal(TABLE, BINDING_COLUMN, row.id, _binding(row))

    def _bound(self, row: WebSession) -> bool:
        """Whether the row still says what was sealed to it when it was opened."""
        if self._sealer.holds(TABLE, BINDING_COLUMN, row.id, row.binding_seal, _binding(row)):
            return True
        log.critical("web session %s was changed outside the vault; it is ended", row.id)
        return False

    def _ended_in_log(self, session: Session, row: WebSession, now: datetime) -> bool:
        """Whether the audit log says the session was ended (a row written back from before
        its end is genuine but stale)."""
        if not epochs_of(self._db).revoked(session, row.id, now - self._logout_horizon):
            return False
        log.critical("web session %s: ended in the audit log, but its row was live", row.id)
        return True

    def _account_stands(self, session: Session, user: User | None, row: WebSession) -> bool:
        """Whether the session's staff member may still act, as the role and organisation
        the session was opened for (re-read from the account on every request)."""
        if user is None or not may_act(self._sealer, user, epochs_of(self._db), session):
            return False
        return (user.username, user.role, user.organization) == (
            row.username,
            row.role,
            row.organization,
        )

    def resolve(self, token: str | None, *kinds: SessionKind) -> ActiveSession | None:
        """The live session of one of those kinds for this cookie value, touched; else None."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        now = self._clock()
        with self._db.session() as session:
            # Locked until the touch is written: a concurrent update of the same session
            # (its flow, resealed) is not overwritten by a seal of the flow read before it.
            row = session.exec(
                select(WebSession)
                .where(WebSession.token_hash == token_digest(token))
                .with_for_update()
            ).first()
            if row is None or row.ended_at is not None:
                return None
            if not self._bound(row) or self._ended_in_log(session, row, now):
                _finish(row, now)
                session.add(row)
                return None
            kind = SessionKind(row.kind)
            if kind not in kinds:
                return None
            if (
                now - row.last_seen_at >= timedelta(seconds=self._idle[kind])
                or now - row.created_at >= self._lifetime
                or not self._account_stands(session, session.get(User, row.user_id), row)
            ):
                _finish(row, now)
                session.add(row)
                return None
            row.last_seen_at = now
            self._seal(row)
            session.add(row)
            return _active(row)

    def update(
        self,
        session_id: uuid.UUID,
        *,
        language: str | None = None,
        flow: dict[str, Any] | None = None,
    ) -> None:
        """Change the session's language or flow and seal it afresh (the session was
        resolved, so its seal was checked, earlier in the same request)."""
        with self._db.session() as session:
            row = session.get(WebSession, session_id, with_for_update=True)
            if row is None or row.ended_at is not None:
                return
            if not self._bound(row):
                _finish(row, self._clock())
                session.add(row)
                return
            if language is not None:
                row.language = language
            if flow is not None:
                row.flow = json.dumps(flow, separators=(",", ":"), sort_keys=True)
            self._seal(row)
            session.add(row)

    def end(self, session_id: uuid.UUID) -> None:
        """End the session for good: its end is named in the audit log first, so that the
        row written back from before it is refused (an ended session is never resumed)."""
        with self._db.read_session() as session:
            found = session.get(WebSession, session_id)
            if found is None or found.ended_at is not None:
                return
            staff = _staff_of(found)
            kind = found.kind
        self._audit.append(
            AuditEvent.by(
                staff,
                EventAction.AUTH_LOGOUT,
                Outcome.INFO,
                target_id=session_id,
                details={"session": kind},
            )
        )
        with self._db.session() as session:
            row = session.get(WebSession, session_id)
            if row is not None and row.ended_at is None:
                _finish(row, self._clock())
                session.add(row)


def _staff_of(row: WebSession) -> Principal | None:
    """The staff member a session names, as the audit log files its end (None if the row
    names no role the vault knows: then the event is the host's)."""
    try:
        return Principal(id=row.user_id, role=Role(row.role), organization=row.organization)
    except ValueError:
        return None
