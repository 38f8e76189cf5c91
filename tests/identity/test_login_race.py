"""The failed-login limit holds against guesses sent all at once, not only one by one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tests.support import create_user
from vault.errors import AuthenticationFailed, RateLimited
from vault.services import Services

WRONG = "definitely not the password"
GUESSES = 40


def test_forty_parallel_guesses_evaluate_at_most_the_limit(services: Services) -> None:
    """40 wrong passwords sent in parallel: at most the limit of them reach the password
    check; the others are refused as rate limited before it."""
    create_user(services, "target", "counselor", "rutan-jakpus")
    limit = services.settings.login_max_failures
    hasher = services.identity.hasher
    checked: list[int] = []
    lock = threading.Lock()
    verify, verify_dummy = hasher.verify, hasher.verify_dummy

    def counted_verify(stored: str, password: str) -> bool:
        with lock:
            checked.append(1)
        return verify(stored, password)

    def counted_dummy(password: str) -> bool:
        with lock:
            checked.append(1)
        return verify_dummy(password)

    hasher.verify = counted_verify  # type: ignore[method-assign,assignment]  # counting the checks
    hasher.verify_dummy = counted_dummy  # type: ignore[method-assign,assignment]  # counting them
    start = threading.Barrier(GUESSES)

    def guess(_: int) -> str:
        start.wait()
        try:
            services.identity.login("target", WRONG)
        except AuthenticationFailed:
            return "failed"
        except RateLimited:
            return "limited"
        return "logged in"

    with ThreadPoolExecutor(max_workers=GUESSES) as pool:
        outcomes = list(pool.map(guess, range(GUESSES)))
    assert outcomes.count("logged in") == 0
    assert outcomes.count("failed") <= limit
    assert len(checked) <= limit
    assert outcomes.count("failed") + outcomes.count("limited") == GUESSES
