"""``vault users`` and ``vault organizations``: the first admin, and users without the API.

There is no default account anywhere: the first administrator is created here,
with the password read from standard input (one line), never from an argument
(arguments are visible to other users of the machine).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vault.config import Settings
from vault.errors import InvalidInput
from vault.identity.models import Agency
from vault.vocabulary import Role


def register(sub: argparse._SubParsersAction[Any]) -> None:
    users = sub.add_parser(
        "users",
        help="create and disable users; enrol a TOTP second factor",
        description="Manage the vault's staff accounts from the command line.",
    )
    actions = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")

    p = actions.add_parser(
        "create",
        help="create an active user; the password is read from standard input (one line)",
        description="Create a user with one role in one organisation. An account made on the "
        "host is active at once (one made over HTTP waits for a second person's approval): "
        "make each organisation's first admin and compliance officer here. The password is "
        "the first line of standard input, e.g.  printf '%%s\\n' \"$PW\" | vault users create ...",
    )
    p.add_argument("--username", required=True, help="login name (3-64 of a-z 0-9 . _ -)")
    p.add_argument("--role", required=True, choices=[r.value for r in Role], help="the role")
    p.add_argument("--organization", required=True, help="organisation code, e.g. rutan-jakpus")
    p.set_defaults(handler=cmd_create)

    p = actions.add_parser(
        "disable", help="disable a user and revoke every token they hold at once"
    )
    p.add_argument("--username", required=True)
    p.set_defaults(handler=cmd_disable)

    p = actions.add_parser(
        "totp",
        help="enrol a TOTP second factor for a user; prints the otpauth URI once",
        description="Give the user a new TOTP secret and print it (and its otpauth:// URI) "
        "once. The factor is on after the user confirms a code: the next argument "
        "--confirm CODE, or POST /v1/me/totp/confirm.",
    )
    p.add_argument("--username", required=True)
    p.add_argument("--confirm", metavar="CODE", help="a current code, to switch the factor on")
    p.set_defaults(handler=cmd_totp)

    orgs = sub.add_parser(
        "organizations",
        help="create and list organisations (lapas, rutan, sentra)",
        description="Organisations that users and subjects belong to.",
    )
    org_actions = orgs.add_subparsers(dest="org_command", required=True, metavar="ACTION")
    p = org_actions.add_parser("create", help="create an organisation")
    p.add_argument("--code", required=True, help="short code, e.g. rutan-jakpus")
    p.add_argument("--name", required=True, help="full name")
    p.add_argument("--agency", required=True, choices=[a.value for a in Agency])
    p.set_defaults(handler=cmd_org_create)
    p = org_actions.add_parser("list", help="list organisations")
    p.set_defaults(handler=cmd_org_list)


def _services(settings: Settings) -> Any:
    from vault.registry import open_services

    return open_services(settings)


def _read_password() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InvalidInput("no password on standard input (give it as the first line)")
    return password


def cmd_create(args: argparse.Namespace, settings: Settings) -> int:
    password = _read_password()
    services = _services(settings)
    try:
        user = services.identity.create_user(args.username, password, args.role, args.organization)
    finally:
        services.close()
    print(f"created user {user.username} ({user.role}, {user.organization}) id {user.id}")
    return 0


def cmd_disable(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        user = services.identity.user_by_name(args.username)
        services.identity.disable_user(user.id)
    finally:
        services.close()
    print(f"disabled user {user.username}; their tokens are revoked")
    return 0


def cmd_totp(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        user = services.identity.user_by_name(args.username)
        if args.confirm:
            services.identity.confirm_totp(user.id, args.confirm)
            print(f"second factor on for {user.username}")
            return 0
        enrolment = services.identity.start_totp(user.id)
    finally:
        services.close()
    print(f"secret: {enrolment.secret}")
    print(f"uri: {enrolment.provisioning_uri}")
    print(
        "Add it to an authenticator app, then confirm with: "
        f"vault users totp --username {user.username} --confirm CODE"
    )
    return 0


def cmd_org_create(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        org = services.identity.create_organization(args.code, args.name, args.agency)
    finally:
        services.close()
    print(f"created organisation {org.code} ({org.agency})")
    return 0


def cmd_org_list(args: argparse.Namespace, settings: Settings) -> int:
    services = _services(settings)
    try:
        for org in services.identity.organizations():
            print(f"{org.code}\t{org.agency}\t{org.name}")
    finally:
        services.close()
    return 0
