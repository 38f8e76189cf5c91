"""``vault workbench counts``: bring every organisation's per-day counts up to date now.

The first look at the dashboard's charts after an upgrade counts the
organisation's whole history once (``vault.workbench.day_counts``); run this on
the host after deploying, or from a timer beside ``vault audit alerts``, so no
page load has to.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy import column, select, table

from vault.config import Settings
from vault.db import Database
from vault.workbench.day_counts import refresh

__all__ = ["count_all", "register"]


def register(sub: argparse._SubParsersAction[Any]) -> None:
    workbench = sub.add_parser(
        "workbench",
        help="the compliance officers' workbench",
        description="Work the compliance dashboard would otherwise do on a page load.",
    )
    actions = workbench.add_subparsers(dest="workbench_command", required=True)
    p = actions.add_parser(
        "counts",
        help="bring every organisation's per-day counts up to date with the log now",
        description="Count each organisation's events appended since its stored cursor "
        "into the per-day counts the charts read. The first run counts the whole log.",
    )
    p.set_defaults(handler=cmd_counts)


def count_all(db: Database) -> dict[str, int]:
    """Refresh the counts of every organisation; how many events each read."""
    organizations = table("organizations", column("code"))
    with db.read_session() as session:
        codes = sorted(str(c) for c in session.execute(select(organizations.c.code)).scalars())
    return {code: refresh(db, code) for code in codes}


def cmd_counts(args: argparse.Namespace, settings: Settings) -> int:
    from vault.registry import open_services

    services = open_services(settings)
    try:
        for code, read in count_all(services.db).items():
            print(f"{code}: {read} new events counted")
    finally:
        services.close()
    return 0
