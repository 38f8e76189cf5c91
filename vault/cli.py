"""The ``vault`` command.

Each subcommand explains itself with ``--help``. Configuration comes from
``VAULT_*`` environment variables (see ``vault.config``); a bad one stops the
command with a message naming it and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from vault.config import Settings, load_settings
from vault.errors import VaultError

Handler = Callable[[argparse.Namespace, Settings], int]


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from vault.bootstrap import initialise

    report = initialise(settings)
    for line in report:
        print(line)
    return 0


def serve_options(settings: Settings, host: str, port: int, workers: int) -> dict[str, Any]:
    """What ``vault serve`` hands uvicorn: also what a test checks it would run."""
    return {
        "app": "vault.app:app_from_env",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        # The C parser and event loop (dependencies of the vault): measured on the
        # caseload read, 0.59 -> 0.75 thousand reads/s on PostgreSQL against the
        # pure-Python h11 parser and asyncio's own loop (docs/deployment.md).
        "http": "httptools",
        # uvicorn's "auto" takes uvloop where it is installed (not on Windows).
        "loop": "auto",
        "log_level": settings.log_level.lower(),
        # uvicorn's access log prints query strings, which may hold identifiers.
        "access_log": False,
        "server_header": False,
        # X-Forwarded-For names the client (login limits per address, the audit's
        # client_addr) only when it comes from a configured proxy. uvicorn's own
        # default would believe any connection from 127.0.0.1.
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies),
    }


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from vault.bootstrap import initialise

    for line in initialise(settings):
        print(line)
    print(f"Serving the vault on http://{args.host}:{args.port} (OpenAPI at /schema)")
    uvicorn.run(**serve_options(settings, args.host, args.port, args.workers))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vault",
        description="Records vault: field-level encryption, consent-bound access, "
        "tamper-evident audit. Configured by VAULT_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "init",
        help="create the database schema, the local keyring and the signing key (idempotent)",
        description="Migrate the database to the newest schema; create the keyring "
        "(file provider) and signing key if they do not exist yet. Safe to run again.",
    )
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser(
        "serve",
        help="run the HTTP service (runs init first)",
        description="Run init, then serve the HTTP API.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.set_defaults(handler=cmd_serve)

    from vault import cli_commands

    cli_commands.register_all(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from vault import registry
    from vault.services import build_services

    registry.install(build_services)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        handler: Handler = args.handler
        return handler(args, settings)
    except VaultError as exc:
        print(f"vault: {exc.detail}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
