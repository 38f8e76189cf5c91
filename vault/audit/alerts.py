"""Alerts worth reading, computed from the audit log with documented rules.

The rules read decoded events (the canonical documents the chain hashes) in
chain order, as a fold: ``AlertFold`` holds what the rules must remember
(the subjects read per person and hour, recent refused reads, break-glass
grants opened in the window, ended assignments, the addresses each person
logged in from) as plain JSON, so the fold can stop after any event, be
stored with the sequence number it reached (``vault.audit.alert_store``), and
go on with the next events only. Feeding the log in one piece or in many gives
the same alerts (a test checks it). Acknowledgements are audit events
themselves (``audit.alert_acknowledge``, the officer's note as the reason).

The rules (``docs/audit.md``, thresholds in ``docs/configuration.md``):

- ``bulk_read``: one person read more distinct subjects in one clock hour than
  ``VAULT_ALERT_BULK_SUBJECTS_PER_HOUR``;
- ``after_hours``: an allowed record read outside the working hours
  ``VAULT_ALERT_WORK_START``..``VAULT_ALERT_WORK_END`` in ``VAULT_ALERT_TIME_ZONE``;
- ``break_glass_frequent``: one person opened more break-glass grants within
  ``VAULT_ALERT_WINDOW_DAYS`` than ``VAULT_ALERT_BREAK_GLASS_MAX``;
- ``ended_assignment_read``: an allowed read of a subject by someone whose
  assignment to that subject had ended (and none was made again);
- ``denied_burst``: ``VAULT_ALERT_DENIED_BURST`` or more refused reads by one
  person within ten minutes (probing);
- ``new_address``: a login of a privileged role (administrator, compliance
  officer) from an address that person never logged in from before;
- ``honeytoken``: any touch of a decoy subject (``honeytoken.hit``);
- ``access_review_overdue``: accounts or assignments went unconfirmed in the
  access review for longer than ``VAULT_ACCESS_REVIEW_DAYS``
  (``access_review.overdue``, recorded once a period).
- ``pin_disowned``: a subject said at the kiosk they did not choose their PIN
  (``consent.pin_disowned``; the staff member of the session in which it was set
  is named in the event).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from vault.vocabulary import EventAction, Role

__all__ = [
    "RULES",
    "Alert",
    "AlertFold",
    "AlertRules",
    "alert_id",
    "compute_alerts",
    "marked",
    "newest_first",
    "rules_from",
]

RULES = (
    "bulk_read",
    "after_hours",
    "break_glass_frequent",
    "ended_assignment_read",
    "denied_burst",
    "new_address",
    "honeytoken",
    "access_review_overdue",
    "pin_disowned",
)
PRIVILEGED = frozenset({Role.ADMIN.value, Role.COMPLIANCE_OFFICER.value})
BURST_WINDOW = timedelta(minutes=10)
READ = EventAction.RECORD_READ.value
SEQS_KEPT = 20  # the events named by an alert (its count says how many there were)
FOLD_VERSION = 1  # the shape of AlertFold.state: a stored state of another shape starts over


@dataclass(frozen=True)
class AlertRules:
    """The thresholds of the rules (from ``Settings``, ``VAULT_ALERT_*``)."""

    bulk_subjects_per_hour: int = 20
    work_start: int = 7
    work_end: int = 18
    time_zone: str = "Asia/Jakarta"
    break_glass_max: int = 3
    denied_burst: int = 10
    window_days: int = 30

    def fingerprint(self) -> str:
        """Changes with any threshold: a stored fold of other thresholds is started over."""
        text = json.dumps({**asdict(self), "fold": FOLD_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """One alert: a rule, who, about whom, when, and the events that raised it."""

    id: str
    rule: str
    actor_id: str | None
    subject_id: str | None
    time: str
    count: int
    seqs: tuple[int, ...] = ()
    acknowledged: bool = False
    note: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule": self.rule,
            "actor_id": self.actor_id,
            "subject_id": self.subject_id,
            "time": self.time,
            "count": self.count,
            "seqs": list(self.seqs),
            "acknowledged": self.acknowledged,
            "note": self.note,
        }


def alert_id(rule: str, *parts: object) -> str:
    """A stable id: the same facts give the same alert on every computation."""
    text = "\x1f".join([rule, *(str(p) for p in parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _when(text: object) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _alert(rule: str, key: tuple[object, ...], events: list[list[Any]], **kw: Any) -> Alert:
    """An alert from ``[seq, time, actor, subject]`` entries (the first is the earliest)."""
    first = events[0]
    return Alert(
        id=alert_id(rule, *key),
        rule=rule,
        actor_id=kw.get("actor_id", first[2]),
        subject_id=kw.get("subject_id", first[3]),
        time=str(first[1]),
        count=len(events),
        seqs=tuple(int(e[0]) for e in events[:SEQS_KEPT]),
    )


def _entry(e: Mapping[str, Any]) -> list[Any]:
    subject = e.get("subject_id")
    actor = e.get("actor_id")
    return [
        int(e["seq"]),
        str(e["time"]),
        None if actor is None else str(actor),
        None if subject is None else str(subject),
    ]


def empty_state() -> dict[str, Any]:
    return {"bulk": {}, "glass": {}, "holder": {}, "ended": {}, "denied": {}, "seen": {}}


class AlertFold:
    """The rules as a fold over events in chain order; ``state`` is plain JSON."""

    def __init__(self, rules: AlertRules, state: Mapping[str, Any] | None = None) -> None:
        self.rules = rules
        self.state: dict[str, Any] = json.loads(json.dumps(state)) if state else empty_state()
        self.zone = ZoneInfo(rules.time_zone)
        self.found: dict[str, Alert] = {}  # raised or changed by what was fed since made

    def _raise(self, alert: Alert) -> None:
        self.found[alert.id] = alert

    def feed(self, events: Iterable[Mapping[str, Any]]) -> None:
        for e in events:
            self._one(e)

    def _one(self, e: Mapping[str, Any]) -> None:
        action, outcome = e["action"], e["outcome"]
        if action == READ:
            if outcome == "allow":
                self._read(e)
            elif outcome == "deny" and e.get("actor_id"):
                self._denied(e)
        elif action == EventAction.BREAK_GLASS_OPEN.value and outcome == "allow":
            self._glass(e)
        elif action == EventAction.ASSIGNMENT_CREATE.value and e.get("target_id"):
            details = e.get("details") or {}
            pair = f"{details.get('user_id')}\x1f{e.get('subject_id')}"
            self.state["holder"][str(e["target_id"])] = pair
            self.state["ended"].pop(pair, None)
        elif action == EventAction.ASSIGNMENT_END.value and outcome != "deny":
            ended = self.state["holder"].pop(str(e.get("target_id")), None)
            if ended:
                self._forget_ended_before(_when(e["time"]) - timedelta(days=self.rules.window_days))
                self.state["ended"][ended] = str(e["time"])
        elif action == EventAction.AUTH_LOGIN.value and outcome != "deny":
            self._login(e)
        elif action == EventAction.HONEYTOKEN_HIT.value:
            self._raise(_alert("honeytoken", (e["seq"],), [_entry(e)]))
        elif action == EventAction.ACCESS_REVIEW_OVERDUE.value:
            # About the organisation, not the officer whose look noticed it.
            self._raise(_alert("access_review_overdue", (e["seq"],), [_entry(e)], actor_id=None))
        elif action == EventAction.PIN_DISOWNED.value:
            self._raise(_alert("pin_disowned", (e["seq"],), [_entry(e)]))

    def _forget_ended_before(self, moment: datetime) -> None:
        """Ended assignments older than the window are forgotten (the state stays small)."""
        ended: dict[str, str] = self.state["ended"]
        for pair in [p for p, at in ended.items() if _when(at) < moment]:
            del ended[pair]

    def _read(self, e: Mapping[str, Any]) -> None:
        entry = _entry(e)
        hour = _when(e["time"]).astimezone(self.zone).hour
        if not self.rules.work_start <= hour < self.rules.work_end:
            self._raise(_alert("after_hours", (e["seq"],), [entry]))
        pair = f"{e.get('actor_id')}\x1f{e.get('subject_id')}"
        if not e.get("break_glass") and pair in self.state["ended"]:
            self._raise(_alert("ended_assignment_read", (e["seq"],), [entry]))
        if not e.get("subject_id"):
            return
        moment = _when(e["time"])
        clock_hour = moment.strftime("%Y-%m-%dT%H")
        # Once a read, not once a kept key: each key's hour compared with one string.
        previous_hour = (moment - timedelta(hours=1)).strftime("%Y-%m-%dT%H")
        bulk: dict[str, dict[str, list[Any]]] = self.state["bulk"]
        for key in [k for k in bulk if k.split("\x1f")[1] < previous_hour]:
            del bulk[key]  # an hour long past gets no more reads
        key = f"{e['actor_id']}\x1f{clock_hour}"
        subjects = bulk.setdefault(key, {})
        if str(e["subject_id"]) in subjects:
            return
        subjects[str(e["subject_id"])] = entry
        if len(subjects) > self.rules.bulk_subjects_per_hour:
            actor, hour_text = key.split("\x1f")
            self._raise(
                _alert("bulk_read", (actor, hour_text), list(subjects.values()), subject_id=None)
            )

    def _glass(self, e: Mapping[str, Any]) -> None:
        actor = str(e["actor_id"])
        mine = self.state["glass"].setdefault(actor, {"opens": [], "episode": None})
        since = _when(e["time"]) - timedelta(days=self.rules.window_days)
        mine["opens"] = [o for o in mine["opens"] if _when(o[1]) >= since] + [_entry(e)]
        if len(mine["opens"]) > self.rules.break_glass_max:
            if mine["episode"] is None:
                mine["episode"] = mine["opens"][0][0]
            key = (actor, mine["episode"])
            self._raise(_alert("break_glass_frequent", key, mine["opens"], subject_id=None))
        else:
            mine["episode"] = None

    def _denied(self, e: Mapping[str, Any]) -> None:
        actor = str(e["actor_id"])
        pending = self.state["denied"].setdefault(actor, [])
        pending.append(_entry(e))
        while _when(e["time"]) - _when(pending[0][1]) > BURST_WINDOW:
            pending.pop(0)
        if len(pending) >= self.rules.denied_burst:
            self._raise(_alert("denied_burst", (actor, pending[0][0]), list(pending)))
            pending.clear()  # one alert per burst

    def _login(self, e: Mapping[str, Any]) -> None:
        actor, address = e.get("actor_id"), e.get("client_addr")
        if not actor or not address:
            return
        known = self.state["seen"].setdefault(str(actor), [])
        if known and address not in known and e.get("actor_role") in PRIVILEGED:
            self._raise(_alert("new_address", (e["seq"],), [_entry(e)]))
        if address not in known:
            known.append(str(address))


def newest_first(alerts: Iterable[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: a.seqs[0] if a.seqs else 0, reverse=True)


def marked(alerts: Iterable[Alert], acknowledgements: Mapping[str, str | None]) -> list[Alert]:
    """The alerts, newest first, those acknowledged marked with the officer's note."""
    return newest_first(
        replace(a, acknowledged=a.id in acknowledgements, note=acknowledgements.get(a.id))
        for a in alerts
    )


def compute_alerts(
    events: Iterable[Mapping[str, Any]],
    rules: AlertRules,
    acknowledgements: Mapping[str, str | None] | None = None,
) -> list[Alert]:
    """Every alert the events raise (one fold from nothing), newest first, acknowledged marked.

    ``acknowledgements`` maps an alert id to the officer's note.
    """
    fold = AlertFold(rules)
    fold.feed(sorted(events, key=lambda e: int(e["seq"])))
    return marked(fold.found.values(), acknowledgements or {})


def rules_from(settings: Any) -> AlertRules:
    """The thresholds of ``vault.config.Settings`` (``VAULT_ALERT_*``)."""
    return AlertRules(
        bulk_subjects_per_hour=settings.alert_bulk_subjects_per_hour,
        work_start=settings.alert_work_start,
        work_end=settings.alert_work_end,
        time_zone=settings.alert_time_zone,
        break_glass_max=settings.alert_break_glass_max,
        denied_burst=settings.alert_denied_burst,
        window_days=settings.alert_window_days,
    )
