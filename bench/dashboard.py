"""The compliance officer's dashboard over a large audit log: each page as it is opened.

Vaults are built in the same run (``bench.dashboard_log``): a baseline of 10,000
events and a large one (100,000 quick, 1,000,000 by default, 10,000,000 full;
``BENCH_DASHBOARD_EVENTS=1000000,3000000`` for several), all on SQLite, each
passing ``vault audit verify --full``. On each, a
compliance officer logs in to the real app (Litestar's test client, the whole
middleware stack) and opens the pages: the overview (chain status, alerts,
break-glass queue, accesses per day, the newest events), the overview filtered
by a username and refusals, by an action, by a date range, the access review,
the charts page and ``GET /v1/audit/alerts``. Between two loads the staff keep
working: a few reads are appended through ``AuditLog`` first, so every load
folds new events into the alerts and the per-day counts, as in life.

The first open of a vault counts its history once (the alerts' window, the
per-day counts from the first event): it is timed apart and reported as a note.
Then each page is loaded several times; the row is its median at the large
size against the same page at the baseline size, with the p95 beside it.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import (
    Mode,
    Row,
    Section,
    Target,
    main,
    median,
    need,
    percentile,
    pick,
    settings_from_env,
)
from bench.dashboard_log import OFFICER, ORG, PASSWORD, Built, build

BASELINE = 10_000
GOAL_MS = 300.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _pages() -> list[tuple[str, str]]:
    today = datetime.now(UTC).date()
    week = (today - timedelta(days=7)).isoformat()
    return [
        ("overview", "/dashboard"),
        (
            "events of a person, refused",
            "/dashboard?person=bench-counselor-rutan-jakpus-3&decision=deny",
        ),
        ("events of an action", "/dashboard?action=break_glass.open"),
        ("events of a week", f"/dashboard?since={week}&until={today.isoformat()}"),
        ("access review", "/dashboard/review"),
        ("charts", "/dashboard/charts"),
        ("alerts (API)", "/v1/audit/alerts"),
    ]


class Officer:
    """A logged-in compliance officer on the real app, and the staff working meanwhile."""

    def __init__(self, built: Built) -> None:
        from litestar.testing import TestClient

        from vault.app import create_app
        from vault.services import build_services

        settings = settings_from_env(built.env)
        self.services = build_services(settings, migrate=False)
        app = create_app(settings, services=self.services)
        self.client = TestClient(app, base_url="http://127.0.0.1")
        self.client.__enter__()
        login = self.client.get("/dashboard/login").text
        token = CSRF.search(login)
        if token is None:
            raise RuntimeError("no CSRF token on the login page")
        started = time.perf_counter()
        # The login lands on the overview: the vault's first open, counting the history once.
        done = self.client.post(
            "/dashboard/login",
            data={"csrf_token": token.group(1), "username": OFFICER, "password": PASSWORD},
        )
        self.first_open = time.perf_counter() - started
        if done.status_code != 200:
            raise RuntimeError(f"the dashboard login failed: {done.status_code}")
        api = self.client.post("/v1/auth/login", json={"username": OFFICER, "password": PASSWORD})
        self.bearer = {"Authorization": f"Bearer {api.json()['access_token']}"}
        self._staff = self._readers()

    def _readers(self) -> list[tuple[Any, Any]]:
        from sqlalchemy import select

        from vault.access.models import Assignment
        from vault.identity.models import User
        from vault.vocabulary import Principal, Role

        with self.services.db.read_session() as session:
            rows = session.execute(
                select(User, Assignment.subject_id)
                .join(Assignment, Assignment.user_id == User.id)
                .where(User.organization == ORG)
                .limit(20)
            ).all()
            return [(Principal(u.id, Role(u.role), u.organization), s) for u, s in rows]

    def work(self, reads: int = 5) -> None:
        """The staff read a few records meanwhile (appended as the read path does)."""
        from vault.audit.events import AuditEvent, Outcome
        from vault.vocabulary import EventAction

        for n in range(reads):
            reader, subject = self._staff[n % len(self._staff)]
            self.services.audit.append(
                AuditEvent.by(
                    reader,
                    EventAction.RECORD_READ,
                    Outcome.ALLOW,
                    subject_id=subject,
                    categories=("psychological",),
                    purpose="counseling",
                )
            )

    def open(self, path: str) -> float:
        headers = self.bearer if path.startswith("/v1/") else None
        started = time.perf_counter()
        response = self.client.get(path, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"{path} answered {response.status_code}: {response.text[:200]}")
        return elapsed

    def close(self) -> None:
        self.client.__exit__(None, None, None)
        self.services.close()


def _measure(built: Built, loads: int) -> tuple[dict[str, list[float]], float]:
    officer = Officer(built)
    try:
        first = officer.first_open
        times: dict[str, list[float]] = {}
        for _ in range(loads):
            for name, path in _pages():
                officer.work()
                times.setdefault(name, []).append(officer.open(path))
        return times, first
    finally:
        officer.close()


def _sizes(default: int) -> list[int]:
    """The large sizes: the mode's, or ``BENCH_DASHBOARD_EVENTS`` (e.g. ``1000000,3000000``)."""
    given = os.environ.get("BENCH_DASHBOARD_EVENTS", "")
    return [int(n) for n in given.split(",") if n.strip()] or [default]


def run(mode: Mode) -> Section:
    need("vault.workbench.day_counts", "the workbench's per-day counts")
    section = Section(name="dashboard", title="Compliance dashboard")
    sizes = _sizes(pick(mode, 100_000, 1_000_000, 10_000_000))
    loads = pick(mode, 5, 9, 11)
    results: dict[int, tuple[dict[str, list[float]], float, Built]] = {}
    for count in (BASELINE, *sizes):
        with tempfile.TemporaryDirectory(prefix="vault-dashboard-") as tmp:
            built = build(Path(tmp), count)
            times, first = _measure(built, loads)
            results[count] = (times, first, built)
    base = results[BASELINE][0]
    for large in sizes:
        big, worst = results[large][0], 0.0
        for name, _ in _pages():
            p95 = percentile(big[name], 95) * 1e3
            worst = max(worst, p95)
            section.rows.append(
                Row(
                    f"open {name}",
                    f"{large:,} events (SQLite), {loads} loads",
                    "median",
                    median(big[name]) * 1e3,
                    f"{BASELINE:,} events",
                    median(base[name]) * 1e3,
                    "ms",
                    extra={
                        "p95_ms": round(p95, 1),
                        "baseline_p95_ms": round(percentile(base[name], 95) * 1e3, 1),
                    },
                )
            )
        section.targets.append(
            Target(
                f"every dashboard page at {large:,} events",
                f"under {GOAL_MS:.0f} ms",
                f"slowest page p95 {worst:.0f} ms",
                worst < GOAL_MS,
            )
        )
    for count, (_, first, built) in results.items():
        parts = ", ".join(f"{k} {v:.1f} s" for k, v in built.seconds.items())
        section.notes.append(
            f"{count:,} events: built and verified in {parts} ({built.verify_output}); "
            f"the first open (counting the history once) took {first:.1f} s"
        )
    return section


if __name__ == "__main__":
    main("dashboard", run)
