"""Subcommands contributed by capabilities (keys, users, audit, consent, demo).

Each capability module exposes ``register(subparsers)``; they are listed here
so the command line is assembled in one visible place.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

CAPABILITY_COMMANDS: tuple[str, ...] = (
    "vault.identity.cli",
    "vault.keys.cli",
    "vault.audit.cli",
    "vault.tlog.cli",
    "vault.consent.cli",
    "vault.handover.cli",
    "vault.honeytokens.cli",
    "vault.workbench.cli",
    "vault.demo",
)


def register_all(sub: argparse._SubParsersAction[Any]) -> None:
    for module_name in CAPABILITY_COMMANDS:
        importlib.import_module(module_name).register(sub)
