"""Alerts worth reading, computed from the audit log with documented rules.

Each rule reads decoded events (the canonical documents the chain hashes) and
names who did what; nothing is stored but the acknowledgements, which are audit
events themselves (``audit.alert_acknowledge``, with the officer's note as the
reason). So an alert cannot be deleted by editing a table: it is recomputed from
the log on every look, and only an audited acknowledgement marks it read.

The rules (``docs/audit.md``, thresholds in ``docs/configuration.md``):

- ``bulk_read``: one person read more distinct subjects in one clock hour than
  ``VAULT_ALERT_BULK_SUBJECTS_PER_HOUR``;
- ``after_hours``: an allowed record read outside the working hours
  ``VAULT_ALERT_WORK_START``..``VAULT_ALERT_WORK_END`` in ``VAULT_ALERT_TIME_ZONE``;
- ``break_glass_frequent``: one person opened more break-glass grants in the
  window than ``VAULT_ALERT_BREAK_GLASS_MAX``;
- ``ended_assignment_read``: an allowed read of a subject by someone whose
  assignment to that subject had ended (and none was made again);
- ``denied_burst``: ``VAULT_ALERT_DENIED_BURST`` or more refused reads by one
  person within ten minutes (probing);
- ``new_address``: a login of a privileged role (administrator, compliance
  officer) from an address that person never logged in from before;
- ``honeytoken``: any touch of a decoy subject (``honeytoken.hit``);
- ``pin_disowned``: a subject said at the kiosk they did not choose their PIN
  (``consent.pin_disowned``; the staff member of the session in which it was set
  is named in the event).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from vault.vocabulary import EventAction, Role

__all__ = ["RULES", "Alert", "AlertRules", "alert_id", "compute_alerts"]

RULES = (
    "bulk_read",
    "after_hours",
    "break_glass_frequent",
    "ended_assignment_read",
    "denied_burst",
    "new_address",
    "honeytoken",
    "pin_disowned",
)
PRIVILEGED = frozenset({Role.ADMIN.value, Role.COMPLIANCE_OFFICER.value})
BURST_WINDOW = timedelta(minutes=10)
READ = EventAction.RECORD_READ.value


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


def _when(event: Mapping[str, Any]) -> datetime:
    moment = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _alert(rule: str, key: tuple[object, ...], events: list[Mapping[str, Any]], **kw: Any) -> Alert:
    first = events[0]
    return Alert(
        id=alert_id(rule, *key),
        rule=rule,
        actor_id=kw.get("actor_id", first.get("actor_id")),
        subject_id=kw.get("subject_id", first.get("subject_id")),
        time=str(first["time"]),
        count=len(events),
        seqs=tuple(int(e["seq"]) for e in events[:20]),
    )


def _bulk(events: list[Mapping[str, Any]], rules: AlertRules) -> list[Alert]:
    per_hour: dict[tuple[str, str], dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for e in events:
        if e["action"] == READ and e["outcome"] == "allow" and e.get("subject_id"):
            hour = _when(e).strftime("%Y-%m-%dT%H")
            per_hour[(str(e["actor_id"]), hour)].setdefault(str(e["subject_id"]), e)
    return [
        _alert("bulk_read", key, list(subjects.values()), subject_id=None)
        for key, subjects in per_hour.items()
        if len(subjects) > rules.bulk_subjects_per_hour
    ]


def _after_hours(events: list[Mapping[str, Any]], rules: AlertRules) -> list[Alert]:
    zone = ZoneInfo(rules.time_zone)
    found = []
    for e in events:
        if e["action"] == READ and e["outcome"] == "allow":
            hour = _when(e).astimezone(zone).hour
            if not rules.work_start <= hour < rules.work_end:
                found.append(_alert("after_hours", (e["seq"],), [e]))
    return found


def _break_glass(events: list[Mapping[str, Any]], rules: AlertRules) -> list[Alert]:
    per_actor: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for e in events:
        if e["action"] == EventAction.BREAK_GLASS_OPEN.value and e["outcome"] == "allow":
            per_actor[str(e["actor_id"])].append(e)
    return [
        _alert("break_glass_frequent", (actor, opened[0]["seq"]), opened, subject_id=None)
        for actor, opened in per_actor.items()
        if len(opened) > rules.break_glass_max
    ]


def _ended_assignment(events: list[Mapping[str, Any]]) -> list[Alert]:
    holder: dict[str, tuple[str, str]] = {}  # assignment id -> (user, subject)
    ended: set[tuple[str, str]] = set()
    found = []
    for e in events:
        details = e.get("details") or {}
        if e["action"] == EventAction.ASSIGNMENT_CREATE.value and e.get("target_id"):
            pair = (str(details.get("user_id")), str(e.get("subject_id")))
            holder[str(e["target_id"])] = pair
            ended.discard(pair)
        elif e["action"] == EventAction.ASSIGNMENT_END.value and e["outcome"] != "deny":
            pair_ended = holder.get(str(e.get("target_id")))
            if pair_ended:
                ended.add(pair_ended)
        elif (
            e["action"] == READ
            and e["outcome"] == "allow"
            and not e.get("break_glass")
            and (str(e.get("actor_id")), str(e.get("subject_id"))) in ended
        ):
            found.append(_alert("ended_assignment_read", (e["seq"],), [e]))
    return found


def _denied_burst(events: list[Mapping[str, Any]], rules: AlertRules) -> list[Alert]:
    per_actor: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for e in events:
        if e["action"] == READ and e["outcome"] == "deny" and e.get("actor_id"):
            per_actor[str(e["actor_id"])].append(e)
    found = []
    for actor, denied in per_actor.items():
        start = 0
        for end in range(len(denied)):
            while _when(denied[end]) - _when(denied[start]) > BURST_WINDOW:
                start += 1
            if end - start + 1 >= rules.denied_burst:
                burst = denied[start : end + 1]
                found.append(_alert("denied_burst", (actor, burst[0]["seq"]), burst))
                start = end + 1  # one alert per burst
    return found


def _new_address(events: list[Mapping[str, Any]]) -> list[Alert]:
    seen: dict[str, set[str]] = defaultdict(set)
    found = []
    for e in events:
        if e["action"] != EventAction.AUTH_LOGIN.value or e["outcome"] == "deny":
            continue
        actor, address = str(e.get("actor_id")), e.get("client_addr")
        if not e.get("actor_id") or not address:
            continue
        known = seen[actor]
        if known and address not in known and e.get("actor_role") in PRIVILEGED:
            found.append(_alert("new_address", (e["seq"],), [e]))
        known.add(str(address))
    return found


def _honeytoken(events: list[Mapping[str, Any]]) -> list[Alert]:
    hit = EventAction.HONEYTOKEN_HIT.value
    return [_alert("honeytoken", (e["seq"],), [e]) for e in events if e["action"] == hit]


def _pin_disowned(events: list[Mapping[str, Any]]) -> list[Alert]:
    disowned = EventAction.PIN_DISOWNED.value
    return [_alert("pin_disowned", (e["seq"],), [e]) for e in events if e["action"] == disowned]


def compute_alerts(
    events: Iterable[Mapping[str, Any]],
    rules: AlertRules,
    acknowledgements: Mapping[str, str | None] | None = None,
) -> list[Alert]:
    """Every alert the events raise (in chain order), newest first, acknowledged marked.

    ``acknowledgements`` maps an alert id to the officer's note.
    """
    ordered = sorted(events, key=lambda e: int(e["seq"]))
    found = [
        *_bulk(ordered, rules),
        *_after_hours(ordered, rules),
        *_break_glass(ordered, rules),
        *_ended_assignment(ordered),
        *_denied_burst(ordered, rules),
        *_new_address(ordered),
        *_honeytoken(ordered),
        *_pin_disowned(ordered),
    ]
    acks = acknowledgements or {}
    marked = [
        Alert(
            id=a.id,
            rule=a.rule,
            actor_id=a.actor_id,
            subject_id=a.subject_id,
            time=a.time,
            count=a.count,
            seqs=a.seqs,
            acknowledged=a.id in acks,
            note=acks.get(a.id),
        )
        for a in found
    ]
    marked.sort(key=lambda a: a.seqs[0] if a.seqs else 0, reverse=True)
    return marked


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
