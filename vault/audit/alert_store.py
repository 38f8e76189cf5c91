"""The alerts of one organisation, read from the log, and their audited acknowledgements.

Used by the dashboard and ``GET /v1/audit/alerts``: the events of the last
``window_days`` that belong to the organisation (``vault.audit.scope``) go
through the rules of ``vault.audit.alerts``; an acknowledgement is an
``audit.alert_acknowledge`` event naming the alert (its note is the reason).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from vault.audit.alerts import Alert, AlertRules, compute_alerts
from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.audit.queries import AuditFilters, AuditQueries
from vault.db import Database
from vault.errors import InvalidInput, NotFound
from vault.vocabulary import EventAction, Principal

__all__ = ["NOTE_MAX", "acknowledge", "alerts_of"]

NOTE_MAX = 500
ALERT_ID = re.compile(r"^[0-9a-f]{24}$")


def _acknowledgements(db: Database, organization: str) -> dict[str, str | None]:
    filters = AuditFilters(
        organization=organization,
        action=EventAction.AUDIT_ALERT_ACKNOWLEDGE.value,
        decision=Outcome.ALLOW,
    )
    found: dict[str, str | None] = {}
    for event in AuditQueries(db).iter_events(filters):
        details = event.get("details") or {}
        if event.get("actor_org") == organization and details.get("alert"):
            found[str(details["alert"])] = event.get("reason")
    return found


def alerts_of(db: Database, organization: str, rules: AlertRules, now: datetime) -> list[Alert]:
    """The organisation's alerts over the rules' window, newest first."""
    filters = AuditFilters(organization=organization, since=now - timedelta(days=rules.window_days))
    events = AuditQueries(db).iter_events(filters)
    return compute_alerts(events, rules, _acknowledgements(db, organization))


def acknowledge(
    db: Database,
    audit: AuditSink,
    officer: Principal,
    alert: str,
    note: str | None,
    rules: AlertRules,
    now: datetime,
) -> Alert:
    """Mark one of the officer's organisation's alerts read, with a note; audited.

    An alert of another organisation, or none, answers as missing.
    """
    note = (note or "").strip() or None
    if note is not None and len(note) > NOTE_MAX:
        raise InvalidInput(f"The note is longer than {NOTE_MAX} characters.")
    if not ALERT_ID.match(alert):
        raise NotFound("No such alert.")
    found = next(
        (a for a in alerts_of(db, officer.organization, rules, now) if a.id == alert), None
    )
    if found is None:
        raise NotFound("No such alert.")
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
