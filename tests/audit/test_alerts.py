"""The alert rules: each fires on a constructed log and stays silent on a normal one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from vault.audit.alerts import AlertRules, compute_alerts

RULES = AlertRules(bulk_subjects_per_hour=5, break_glass_max=2, denied_burst=4)
# 03:00 UTC is 10:00 in Jakarta: inside working hours.
NOON = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
ALICE = str(uuid.uuid4())


class Log:
    """A constructed log: events appended in order with gapless sequence numbers."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def add(self, action: str, at: datetime, outcome: str = "allow", **kw: Any) -> None:
        event = {
            "seq": len(self.events) + 1,
            "time": at.isoformat(),
            "action": action,
            "outcome": outcome,
            "actor_id": ALICE,
            "actor_role": "counselor",
            "subject_id": None,
            "details": {},
        }
        event.update(kw)
        self.events.append(event)

    def rules_fired(self) -> set[str]:
        return {a.rule for a in compute_alerts(self.events, RULES)}


def normal_day() -> Log:
    """A counselor's ordinary day: a login, a few reads of two subjects in working hours."""
    log = Log()
    subjects = [str(uuid.uuid4()) for _ in range(2)]
    log.add("auth.login", NOON, "info", client_addr="10.0.0.1", actor_role="admin")
    log.add(
        "auth.login", NOON + timedelta(hours=1), "info", client_addr="10.0.0.1", actor_role="admin"
    )
    for minute in range(4):
        log.add("record.read", NOON + timedelta(minutes=minute), subject_id=subjects[minute % 2])
    log.add("record.read", NOON + timedelta(minutes=30), "deny", subject_id=subjects[0])
    log.add("break_glass.open", NOON + timedelta(hours=2), subject_id=subjects[1])
    return log


def test_a_normal_day_raises_no_alert() -> None:
    """An ordinary day's log raises nothing."""
    assert normal_day().rules_fired() == set()


def test_bulk_reads_fire() -> None:
    """Reading more distinct subjects in one hour than the setting raises bulk_read."""
    log = normal_day()
    for minute in range(6):
        log.add("record.read", NOON + timedelta(minutes=10 + minute), subject_id=str(uuid.uuid4()))
    assert "bulk_read" in log.rules_fired()


def test_reads_outside_working_hours_fire() -> None:
    """A read at 22:00 Jakarta time raises after_hours."""
    log = normal_day()
    log.add("record.read", NOON + timedelta(hours=12), subject_id=str(uuid.uuid4()))
    fired = compute_alerts(log.events, RULES)
    assert [a.rule for a in fired if a.rule == "after_hours"] == ["after_hours"]


def test_working_hours_follow_the_time_zone() -> None:
    """The same UTC read is inside working hours in Jakarta and outside them in UTC."""
    log = normal_day()
    log.add("record.read", NOON.replace(hour=3), subject_id=str(uuid.uuid4()))
    assert "after_hours" not in log.rules_fired()
    assert any(
        a.rule == "after_hours" for a in compute_alerts(log.events, AlertRules(time_zone="UTC"))
    )


def test_frequent_break_glass_fires() -> None:
    """More break-glass grants by one person than the setting raises break_glass_frequent."""
    log = normal_day()
    for hour in range(3, 5):
        log.add("break_glass.open", NOON + timedelta(hours=hour), subject_id=str(uuid.uuid4()))
    assert "break_glass_frequent" in log.rules_fired()


def test_reading_after_the_assignment_ended_fires() -> None:
    """A read of a subject after the reader's assignment to it ended raises an alert."""
    log = normal_day()
    subject, assignment = str(uuid.uuid4()), str(uuid.uuid4())
    log.add(
        "assignment.create",
        NOON,
        "info",
        subject_id=subject,
        target_id=assignment,
        details={"user_id": ALICE},
        actor_id=str(uuid.uuid4()),
    )
    log.add("record.read", NOON + timedelta(minutes=1), subject_id=subject)
    assert "ended_assignment_read" not in log.rules_fired()
    log.add(
        "assignment.end",
        NOON + timedelta(minutes=2),
        "allow",
        subject_id=subject,
        target_id=assignment,
        actor_id=str(uuid.uuid4()),
    )
    log.add("record.read", NOON + timedelta(minutes=3), subject_id=subject)
    assert "ended_assignment_read" in log.rules_fired()


def test_denied_read_bursts_fire() -> None:
    """Refused reads in quick succession (probing) raise denied_burst; spread out, they do not."""
    spread = normal_day()
    for hour in range(4):
        spread.add(
            "record.read", NOON + timedelta(hours=hour), "deny", subject_id=str(uuid.uuid4())
        )
    assert "denied_burst" not in spread.rules_fired()
    burst = normal_day()
    for second in range(4):
        burst.add(
            "record.read", NOON + timedelta(seconds=second), "deny", subject_id=str(uuid.uuid4())
        )
    assert "denied_burst" in burst.rules_fired()


def test_a_privileged_login_from_a_new_address_fires() -> None:
    """An administrator logging in from an address never used before raises new_address."""
    log = normal_day()
    log.add(
        "auth.login",
        NOON + timedelta(hours=3),
        "info",
        client_addr="203.0.113.9",
        actor_role="admin",
    )
    assert "new_address" in log.rules_fired()


def test_an_unprivileged_login_from_a_new_address_is_silent() -> None:
    """A counselor logging in from a new address raises nothing."""
    log = normal_day()
    log.add("auth.login", NOON, "info", client_addr="10.0.0.1", actor_id=str(uuid.uuid4()))
    log.add("auth.login", NOON, "info", client_addr="10.0.0.7", actor_id=log.events[-1]["actor_id"])
    assert "new_address" not in log.rules_fired()


def test_honeytoken_hits_fire() -> None:
    """A recorded honeytoken hit is always an alert."""
    log = normal_day()
    log.add("honeytoken.hit", NOON, "info", subject_id=str(uuid.uuid4()))
    assert "honeytoken" in log.rules_fired()


def test_alert_ids_are_stable_and_acknowledgements_mark_them() -> None:
    """The same log gives the same ids; an acknowledgement marks its alert with the note."""
    log = normal_day()
    log.add("honeytoken.hit", NOON, "info", subject_id=str(uuid.uuid4()))
    first = compute_alerts(log.events, RULES)
    again = compute_alerts(log.events, RULES, {first[0].id: "checked with the unit head"})
    assert [a.id for a in first] == [a.id for a in again]
    assert again[0].acknowledged
    assert again[0].note == "checked with the unit head"


def test_the_fold_fed_in_pieces_through_json_equals_one_fold() -> None:
    """Stopping after any event, storing the state as JSON and going on changes no alert."""
    import json

    from vault.audit.alerts import AlertFold

    log = normal_day()
    for minute in range(8):
        at = NOON + timedelta(minutes=10 + minute)
        log.add("record.read", at, subject_id=str(uuid.uuid4()))
        log.add("record.read", at, "deny", subject_id=str(uuid.uuid4()))
        log.add("break_glass.open", at, subject_id=str(uuid.uuid4()))
    log.add("honeytoken.hit", NOON + timedelta(hours=14), "info", subject_id=str(uuid.uuid4()))
    whole = compute_alerts(log.events, RULES)
    for size in (1, 3, 7):
        found: dict[str, Any] = {}
        state: dict[str, Any] | None = None
        for start in range(0, len(log.events), size):
            fold = AlertFold(RULES, state)
            fold.feed(log.events[start : start + size])
            found.update(fold.found)
            state = json.loads(json.dumps(fold.state))
        pieces = sorted(found.values(), key=lambda a: a.seqs[0], reverse=True)
        assert [(a.id, a.count, a.seqs) for a in pieces] == [(a.id, a.count, a.seqs) for a in whole]
    assert {a.rule for a in whole} >= {"bulk_read", "denied_burst", "break_glass_frequent"}
