"""``vault.slots``: a bounded number of holders, and a freed slot goes to who waited."""

from __future__ import annotations

import threading
import time

from vault.slots import FairSlots


def test_no_more_holders_than_slots() -> None:
    """With every slot held, a further acquire waits its timeout and gets none."""
    slots = FairSlots(2)
    assert slots.acquire(timeout=0)
    assert slots.acquire(timeout=0)
    started = time.monotonic()
    assert not slots.acquire(timeout=0.05)
    assert time.monotonic() - started >= 0.04
    slots.release()
    assert slots.acquire(timeout=0)


def test_a_freed_slot_goes_to_the_waiter_not_back_to_the_releaser() -> None:
    """The thread that releases cannot take its slot straight back while another waits:
    the starvation that made readers give up and open connections of their own."""
    slots = FairSlots(1)
    assert slots.acquire(timeout=0)
    got: list[bool] = []
    waiter = threading.Thread(target=lambda: got.append(slots.acquire(timeout=5)))
    waiter.start()
    while not slots.waiting:  # the waiter is queued
        time.sleep(0.001)
    slots.release()
    assert not slots.acquire(timeout=0)  # the releaser, at once: the slot was handed on
    waiter.join()
    assert got == [True]


def test_waiters_are_served_in_the_order_they_came() -> None:
    """Three waiters on one slot get it first come, first served."""
    slots = FairSlots(1)
    assert slots.acquire(timeout=0)
    order: list[int] = []

    def wait_then_pass_on(n: int) -> None:
        assert slots.acquire(timeout=5)
        order.append(n)
        slots.release()

    threads = []
    for n in range(3):
        threads.append(threading.Thread(target=wait_then_pass_on, args=(n,)))
        threads[-1].start()
        while slots.waiting < n + 1:
            time.sleep(0.001)
    slots.release()
    for thread in threads:
        thread.join()
    assert order == [0, 1, 2]
