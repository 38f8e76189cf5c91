"""``vault.audit.schedule``: a checkpoint falls due after N events or T seconds, never idle."""

from __future__ import annotations

import threading

import pytest

from vault.audit import schedule
from vault.audit.schedule import CheckpointSchedule, SigningAside


class Monotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Monotonic:
    moving = Monotonic()
    monkeypatch.setattr(schedule.time, "monotonic", moving)
    return moving


def test_nothing_written_is_never_due(clock: Monotonic) -> None:
    """An empty tail needs no checkpoint, however long it has been; the writer may sleep."""
    plan = CheckpointSchedule(enabled=True, every=10, seconds=5)
    clock.now += 3600
    assert not plan.due()
    assert plan.idle_timeout() is None


def test_due_after_enough_events(clock: Monotonic) -> None:
    """The Nth event since the last checkpoint makes one due at once."""
    plan = CheckpointSchedule(enabled=True, every=10, seconds=60)
    plan.written(9)
    assert not plan.due()
    plan.written(1)
    assert plan.due()


def test_due_after_enough_time_with_a_tail(clock: Monotonic) -> None:
    """A quiet log with a few events signs them once T seconds have passed."""
    plan = CheckpointSchedule(enabled=True, every=1000, seconds=5)
    plan.written(1)
    clock.now += 2
    assert not plan.due()
    assert plan.idle_timeout() == pytest.approx(3)
    clock.now += 3
    assert plan.due()
    assert plan.idle_timeout() == 0


def test_signing_starts_a_new_period(clock: Monotonic) -> None:
    """After a checkpoint the count and the timer start over."""
    plan = CheckpointSchedule(enabled=True, every=2, seconds=5)
    plan.written(5)
    clock.now += 10
    plan.signed()
    assert plan.uncheckpointed == 0
    plan.written(1)
    assert not plan.due()
    assert plan.idle_timeout() == pytest.approx(5)


def test_disabled_schedule_is_never_due(clock: Monotonic) -> None:
    """Without a signer configured no checkpoint is asked for."""
    plan = CheckpointSchedule(enabled=False, every=1, seconds=0)
    plan.written(100)
    assert not plan.due()
    assert plan.idle_timeout() is None


def test_events_written_while_a_checkpoint_is_signed_stay_counted(clock: Monotonic) -> None:
    """A checkpoint signed over the first 10 events leaves the 12 written meanwhile counted,
    so the next one falls due without waiting for the interval."""
    plan = CheckpointSchedule(enabled=True, every=10, seconds=3600)
    plan.written(10)
    counted = plan.uncheckpointed  # the signer starts here
    plan.written(12)  # appended on the loop while it signs
    plan.signed(covered=counted)
    assert plan.uncheckpointed == 12
    assert plan.due()
    plan.signed()
    assert not plan.due()


def test_a_head_asked_for_while_one_is_signed_is_signed_after_it() -> None:
    """Asked again while it signs, the signer signs once more afterwards, then stops; a
    failed signing stops it until it is asked again."""
    entered, release = threading.Event(), threading.Event()
    calls: list[int] = []
    outcomes = [True, True, False]

    def sign() -> bool:
        calls.append(len(calls))
        if len(calls) == 1:
            entered.set()
            release.wait(5)
        return outcomes[len(calls) - 1]

    aside = SigningAside(sign, lambda: False)
    aside.request()
    assert entered.wait(5)
    aside.request()  # falls due meanwhile
    assert aside.busy
    release.set()
    for _ in range(250):
        if not aside.busy:
            break
        threading.Event().wait(0.01)
    assert calls == [0, 1]
    assert not aside.busy
    aside.request()  # fails: logged by the signer, and the thread ends
    for _ in range(250):
        if not aside.busy:
            break
        threading.Event().wait(0.01)
    assert calls == [0, 1, 2]
    assert not aside.busy
    aside.close()
    aside.request()  # closed: signs nothing more
    assert not aside.busy
    assert calls == [0, 1, 2]
