"""The alerts of one organisation, kept up to date from the log, and their acknowledgements.

Used by the dashboard and ``GET /v1/audit/alerts``. Each look feeds the rules
(``vault.audit.alerts.AlertFold``) only the organisation's events appended
since the stored cursor (``alert_cursors``), then stores the alerts they raised
or grew (``alerts``) and moves the cursor to the log's last sequence number:
a page load reads what is new, never the whole window again. The first look,
or one after a threshold changed, starts the fold at the rules' window
(``VAULT_ALERT_WINDOW_DAYS``) before now.

An acknowledgement is an ``audit.alert_acknowledge`` event naming the alert
(its note is the reason); the fold reads those too and marks the stored alert.
Who may acknowledge which alert is the policies' decision
(``policies/audit.cedar``): nobody acknowledges an alert about their own actions.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, case, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from vault.audit.alert_models import AlertCursorRow, AlertRow
from vault.audit.alerts import Alert, AlertFold, AlertRules, marked, newest_first
from vault.audit.canonical import decode, parse_time
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.audit.models import EVENTS
from vault.audit.scope import events_of
from vault.db import READ_ONLY_OPTION, Database
from vault.errors import Forbidden, InvalidInput, NotFound
from vault.vocabulary import Action, EventAction, OperationFacts, Principal

__all__ = [
    "NOTE_MAX",
    "AlertList",
    "acknowledge",
    "alerts_of",
    "newest_alerts",
    "recomputed",
    "refresh",
]

NOTE_MAX = 500
ALERT_ID = re.compile(r"^[0-9a-f]{24}$")
WINDOW = 8192  # sequence numbers read at a time
ACK = EventAction.AUDIT_ALERT_ACKNOWLEDGE.value


class Decides(Protocol):
    """The policy engine as this module asks it (``vault.access.engine.PolicyEngine``)."""

    def authorize(self, principal: Principal, action: Action, facts: OperationFacts) -> Any: ...


def _new_events(
    conn: Connection, organization: str, since: datetime | None, after: int, upto: int
) -> Iterator[dict[str, Any]]:
    """The organisation's events with ``after < seq <= upto``, in chain order.

    Read a window of sequence numbers at a time: the organisation's condition is an
    OR the database answers by collecting every match of the range before sorting,
    so an open-ended range read in chunks would read the rest of the log per chunk.
    """
    if since is not None:  # the first look: start at the window's first event
        first = conn.execute(
            select(EVENTS.c.seq).where(EVENTS.c.time >= since).order_by(EVENTS.c.time).limit(1)
        ).scalar()
        after = max(after, int(first) - 1 - WINDOW) if first is not None else upto
    while after < upto:
        high = min(upto, after + WINDOW)
        query = select(EVENTS.c.canonical).where(
            events_of(organization), EVENTS.c.seq > after, EVENTS.c.seq <= high
        )
        if since is not None:
            query = query.where(EVENTS.c.time >= since)
        for (canonical,) in conn.execute(query.order_by(EVENTS.c.seq)).all():
            yield decode(bytes(canonical))
        after = high


def refresh(db: Database, organization: str, rules: AlertRules, now: datetime) -> int:
    """Feed the rules the organisation's events since the cursor; return how many were read.

    Two looks at once compute the same thing: the one that stores second finds
    the cursor moved and keeps what the first stored.
    """
    with db.read_session() as session:
        cursor = session.get(AlertCursorRow, organization)
        fresh = cursor is None or cursor.rules != rules.fingerprint()
        after = 0 if fresh or cursor is None else cursor.last_seq
        state = None if fresh or cursor is None else json.loads(cursor.state)
        started = now if fresh or cursor is None else cursor.started_at
    since = started - timedelta(days=rules.window_days) if fresh else None
    reader = db.engine.execution_options(**{READ_ONLY_OPTION: True})
    fold = AlertFold(rules, state)
    acks: dict[str, str | None] = {}
    read = 0
    with reader.connect() as conn:
        upto = int(conn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
        if upto <= after and not fresh:
            return 0
        for event in _new_events(conn, organization, since, after, upto):
            read += 1
            fold.feed([event])
            details = event.get("details") or {}
            mine = event["action"] == ACK and event.get("actor_org") == organization
            if mine and event["outcome"] == Outcome.ALLOW.value and details.get("alert"):
                acks[str(details["alert"])] = event.get("reason")
    # A look at the same moment may store the same span first (the same cursor or
    # alert row inserted twice): its rows stand, computed from the same events.
    with contextlib.suppress(IntegrityError):
        _store(db, organization, rules, fold, acks, (after, upto, started, fresh))
    return read


def _store(
    db: Database,
    organization: str,
    rules: AlertRules,
    fold: AlertFold,
    acks: dict[str, str | None],
    span: tuple[int, int, datetime, bool],
) -> None:
    after, upto, started, fresh = span
    with db.session() as session:
        cursor = session.get(AlertCursorRow, organization, with_for_update=True)
        if cursor is not None and not fresh and cursor.last_seq != after:
            return  # another look stored this span already
        if fresh:
            session.execute(delete(AlertRow).where(col(AlertRow.organization) == organization))
        for alert in fold.found.values():
            row = None if fresh else session.get(AlertRow, (organization, alert.id))
            fields: dict[str, Any] = {
                "rule": alert.rule,
                "actor_id": alert.actor_id,
                "subject_id": alert.subject_id,
                "time": alert.time,
                "at": parse_time(alert.time),
                "count": alert.count,
                "first_seq": alert.seqs[0],
                "seqs": json.dumps(list(alert.seqs)),
            }
            if row is None:
                row = AlertRow(organization=organization, alert_id=alert.id, **fields)
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
            session.add(row)
        session.flush()
        for alert_id, note in acks.items():
            found = session.get(AlertRow, (organization, alert_id))
            if found is not None:
                found.acknowledged, found.note = True, note
                session.add(found)
        state = json.dumps(fold.state, separators=(",", ":"))
        if cursor is None:
            cursor = AlertCursorRow(
                organization=organization, last_seq=upto, rules="", started_at=started, state=state
            )
        cursor.last_seq, cursor.rules, cursor.started_at = upto, rules.fingerprint(), started
        cursor.state = state
        session.add(cursor)


def _alert(row: AlertRow) -> Alert:
    return Alert(
        id=row.alert_id,
        rule=row.rule,
        actor_id=row.actor_id,
        subject_id=row.subject_id,
        time=row.time,
        count=row.count,
        seqs=tuple(json.loads(row.seqs)),
        acknowledged=row.acknowledged,
        note=row.note,
    )


def alerts_of(db: Database, organization: str, rules: AlertRules, now: datetime) -> list[Alert]:
    """The organisation's alerts over the rules' window, newest first (after a refresh)."""
    refresh(db, organization, rules, now)
    with db.read_session() as session:
        rows = session.execute(
            select(AlertRow).where(
                col(AlertRow.organization) == organization,
                col(AlertRow.at) >= now - timedelta(days=rules.window_days),
            )
        ).scalars()
        return newest_first(_alert(row) for row in rows)


@dataclass(frozen=True)
class AlertList:
    """The newest alerts of the window (at most the page's size) and how many there are."""

    alerts: list[Alert]
    open: int
    total: int


def newest_alerts(
    db: Database, organization: str, rules: AlertRules, now: datetime, limit: int
) -> AlertList:
    """The organisation's ``limit`` newest alerts over the rules' window (after a refresh),
    with the count of all of them and of those not acknowledged: a page load reads a
    page of alerts, however many the window holds. Newest by the time of the event that
    raised each (read backwards on the ``(organization, at)`` index), ties by sequence."""
    refresh(db, organization, rules, now)
    window = (
        col(AlertRow.organization) == organization,
        col(AlertRow.at) >= now - timedelta(days=rules.window_days),
    )
    unread = func.coalesce(func.sum(case((col(AlertRow.acknowledged).is_(False), 1), else_=0)), 0)
    with db.read_session() as session:
        total, unacknowledged = session.execute(
            select(func.count(), unread).select_from(AlertRow).where(*window)
        ).one()
        rows = session.execute(
            select(AlertRow)
            .where(*window)
            .order_by(col(AlertRow.at).desc(), col(AlertRow.first_seq).desc())
            .limit(limit)
        ).scalars()
        found = newest_first(_alert(row) for row in rows)
    return AlertList(found, int(unacknowledged), int(total))


def _one(
    db: Database, organization: str, alert: str, rules: AlertRules, now: datetime
) -> Alert | None:
    """One alert of the organisation's window, after a refresh; None if there is none."""
    refresh(db, organization, rules, now)
    with db.read_session() as session:
        row = session.get(AlertRow, (organization, alert))
        if row is None or row.at < now - timedelta(days=rules.window_days):
            return None
        return _alert(row)


def recomputed(db: Database, organization: str, rules: AlertRules, since: datetime) -> list[Alert]:
    """The same alerts computed from nothing over every event since ``since`` (for checks)."""
    reader = db.engine.execution_options(**{READ_ONLY_OPTION: True})
    fold = AlertFold(rules)
    with reader.connect() as conn:
        upto = int(conn.execute(select(func.coalesce(func.max(EVENTS.c.seq), 0))).scalar_one())
        fold.feed(_new_events(conn, organization, since, 0, upto))
    return marked(fold.found.values(), {})


def acknowledge(
    db: Database,
    audit: AuditSink,
    policy: Decides,
    officer: Principal,
    alert: str,
    note: str | None,
    rules: AlertRules,
    now: datetime,
) -> Alert:
    """Mark one of the officer's organisation's alerts read, with a note; audited.

    An alert of another organisation, or none, answers as missing. ``policy``
    decides ``audit.alert_acknowledge`` knowing whether the
    alert is about the officer's own actions (``on_self``); a refusal is audited.
    """
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"The note is longer than {NOTE_MAX} characters.")
    if not ALERT_ID.match(alert):
        raise NotFound("No such alert.")
    found = _one(db, officer.organization, alert, rules, now)
    if found is None:
        raise NotFound("No such alert.")
    facts = OperationFacts(
        target_org=officer.organization, on_self=found.actor_id == str(officer.id)
    )
    decision = policy.authorize(officer, Action.ACKNOWLEDGE_ALERT, facts)
    if not decision.allowed:
        audit.append(
            AuditEvent.by(
                officer,
                EventAction.AUDIT_ALERT_ACKNOWLEDGE,
                Outcome.DENY,
                policy_ids=decision.policy_ids,
                reason=decision.reason,
                details={"alert": found.id, "rule": found.rule},
            )
        )
        raise Forbidden(f"Not allowed: {decision.reason}")
    audit.append(
        AuditEvent.by(
            officer,
            EventAction.AUDIT_ALERT_ACKNOWLEDGE,
            Outcome.ALLOW,
            reason=note,
            details={"alert": found.id, "rule": found.rule},
        )
    )
    return Alert(
        id=found.id,
        rule=found.rule,
        actor_id=found.actor_id,
        subject_id=found.subject_id,
        time=found.time,
        count=found.count,
        seqs=found.seqs,
        acknowledged=True,
        note=note,
    )
