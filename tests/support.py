"""Helpers every capability's tests use to get users and bearer tokens.

``create_user`` goes through the identity service as the host's command line
does (so the user is real: hashed password, organisation row, and active at
once); the organisation is created on first use. ``create_user_over_api`` makes
an account as an admin does, and approves it with a second person.
"""

from __future__ import annotations

import contextlib
import gc
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from vault.audit.events import AuditEvent, AuditSink
from vault.db import Database
from vault.errors import Conflict
from vault.services import Services

DEFAULT_PASSWORD = "correct horse battery staple"


def ensure_organization(services: Services, code: str) -> None:
    """Create the organisation ``code`` if it does not exist yet."""
    agency = "kemensos" if code.startswith("sentra") else "imipas"
    with contextlib.suppress(Conflict):
        services.identity.create_organization(code, code.replace("-", " ").title(), agency)


def create_user(
    services: Services,
    username: str,
    role: str,
    organization: str,
    password: str = DEFAULT_PASSWORD,
) -> uuid.UUID:
    """A user with that role in that organisation (created if needed); returns the user id."""
    ensure_organization(services, organization)
    return services.identity.create_user(username, password, role, organization).id


def made_by(services: Services, user_id: uuid.UUID, creator: uuid.UUID | None) -> None:
    """Record ``creator`` as the maker of the account and seal the row again, as the vault
    does for an account that account made (``created_by`` is sealed with the account)."""
    from vault.identity.models import User
    from vault.identity.standing import AUTHZ_COLUMN, USERS_TABLE, authz_value

    with services.db.session() as session:
        row = session.get(User, user_id)
        if row is None:
            raise LookupError(user_id)
        row.created_by = creator
        row.authz_seal = services.sealer.seal(USERS_TABLE, AUTHZ_COLUMN, row.id, authz_value(row))
        session.add(row)


def create_user_over_api(
    client: Any,
    admin: dict[str, str],
    approver: dict[str, str] | None,
    username: str,
    role: str,
    organization: str,
    password: str = DEFAULT_PASSWORD,
) -> str:
    """An account made by ``admin`` over the API, then approved by ``approver`` (a second
    person: a compliance officer for staff, another admin for an admin) and activated by
    its holder, who sets ``password``; None leaves it pending (with ``password`` as its
    first password). Returns the new account's id."""
    first = password if approver is None else f"first {password}"
    body = {"username": username, "password": first, "role": role, "organization": organization}
    created = client.post("/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    user_id = str(created.json()["id"])
    if approver is not None:
        approved = client.post(f"/v1/users/{user_id}/approve", headers=approver)
        assert approved.status_code == 200, approved.text
        activate(client, username, first, approved.json()["activation_code"], password)
    return user_id


def activate(client: Any, username: str, first: str, code: str, password: str) -> None:
    """The holder of an approved account activates it with its first password and the
    approver's code, choosing ``password``."""
    activation = {
        "username": username,
        "password": first,
        "activation_code": code,
        "new_password": password,
    }
    activated = client.post("/v1/auth/activate", json=activation)
    assert activated.status_code == 200, activated.text


def login(client: Any, username: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    """Log in through the HTTP API; returns the Authorization header to send."""
    response = client.post("/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Clock:
    """A clock the test moves by hand (pass it to ``build_services(clock=...)``)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 1, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class RecordingAudit:
    """An audit sink that remembers every event and passes it on to the real one (if any)."""

    def __init__(self, inner: AuditSink | None = None) -> None:
        self.inner = inner
        self.events: list[AuditEvent] = []

    def append(self, event: AuditEvent) -> int:
        self.events.append(event)
        return self.inner.append(event) if self.inner is not None else len(self.events)

    def actions(self) -> list[str]:
        return [event.action for event in self.events]


def insert_subject(services: Services, organization: str) -> uuid.UUID:
    """A bare subject row (no identity record), for tests that only need one to exist."""
    from vault.subjects.models import Subject

    subject = Subject(
        organization=organization,
        nik_index=uuid.uuid4().hex,
        register_index=uuid.uuid4().hex,
    )
    with services.db.session() as session:
        session.add(subject)
    return subject.id


def insert_unsigned_consent(
    db: Database, subject_id: uuid.UUID, witness_id: uuid.UUID, purpose: str = "health_treatment"
) -> uuid.UUID:
    """A consent written straight into the tables, as someone with database access could:
    active for decades, granting ``purpose``, with no signing in the audit log."""
    forged = uuid.uuid4()
    now = datetime.now(UTC)

    def stored(value: uuid.UUID) -> object:
        return value.hex if db.is_sqlite else value

    with db.session() as session:
        session.execute(
            text(
                "INSERT INTO consents (id, created_at, updated_at, subject_id, form_id, "
                "form_version, language, text_sha256, signed_at, expires_at, witness_id, "
                "witness_org, method, signed_by, receipt_id, receipt_jws) VALUES (:id, :now, "
                ":now, :s, 'rehabilitation', 1, 'id', :h, :now, :later, :w, 'rutan-jakpus', "
                "'pin', 'subject', :r, 'x')"
            ),
            {
                "id": stored(forged),
                "now": now,
                "later": datetime(2099, 1, 1, tzinfo=UTC),
                "s": stored(subject_id),
                "h": "0" * 64,
                "w": stored(witness_id),
                "r": stored(uuid.uuid4()),
            },
        )
        session.execute(
            text(
                "INSERT INTO consent_purposes (id, created_at, updated_at, consent_id, "
                "subject_id, purpose, position, granted, categories, recipients) VALUES "
                "(:id, :now, :now, :c, :s, :p, 0, :t, 'health_sensitive', 'rutan-jakpus')"
            ),
            {
                "id": stored(uuid.uuid4()),
                "now": now,
                "c": stored(forged),
                "s": stored(subject_id),
                "p": purpose,
                "t": True,
            },
        )
    return forged


def kiosk_header(
    services: Services, user_id: uuid.UUID | str, subject_id: uuid.UUID | str
) -> dict[str, str]:
    """A kiosk session opened by that staff member for that subject, as the header the
    API's signing route needs (``X-Kiosk-Session``): staff sign only inside it."""
    from vault.identity.models import User
    from vault.web.common import web_sessions
    from vault.web.sessions import SessionKind, StaffIdentity

    with services.db.read_session() as session:
        user = session.get(User, uuid.UUID(str(user_id)))
        assert user is not None, "no such user"
        staff = StaffIdentity(user.id, user.username, user.role, user.organization)
    token, _ = web_sessions(services).open(
        SessionKind.KIOSK, staff, subject_id=uuid.UUID(str(subject_id))
    )
    return {"X-Kiosk-Session": token}


def answer(response: Any) -> tuple[int, Any]:
    """A response's status and body without its request id: what tells one case from another."""
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
    return response.status_code, body


def choose_pin(services: Services, subject_id: uuid.UUID | str, pin: str) -> None:
    """The subject's PIN, given on the host as the demo does (in life the subject
    chooses it privately at the kiosk; registration takes none)."""
    services.consents.choose_pin(
        uuid.UUID(str(subject_id)), pin, pin, witness=None, kiosk_session=None
    )


def choose_pin_at_kiosk(
    client: Any, subject_id: uuid.UUID | str, pin: str, username: str, password: str
) -> None:
    """As in life: ``username`` (not the registering officer) opens a kiosk session for
    the subject, who chooses ``pin`` on the first page; the session then ends."""
    import re

    def csrf(html: str) -> str:
        found = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert found, "no CSRF token in the page"
        return found.group(1)

    page = client.get("/kiosk/login")
    start = client.post(
        "/kiosk/login",
        data={"csrf_token": csrf(page.text), "username": username, "password": password},
        follow_redirects=True,
    )
    chooser = client.post(
        "/kiosk/start",
        data={"csrf_token": csrf(start.text), "subject_id": str(subject_id), "language": "id"},
        follow_redirects=True,
    )
    assert str(chooser.url).endswith("/kiosk/pin/new"), chooser.text
    token = csrf(chooser.text)
    chosen = client.post("/kiosk/pin/new", data={"csrf_token": token, "pin": pin, "pin_again": pin})
    assert chosen.status_code == 200, chosen.text
    client.post("/kiosk/end", data={"csrf_token": token})


def in_forked_child(work: Callable[[], str]) -> str:
    """What ``work`` returns when run in a child forked from this process, after which the
    child collects its garbage (what would close connections it thinks are its own)."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover  (the child reports through the pipe)
        try:
            answer = work()
            gc.collect()
            os.write(write, answer.encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    with os.fdopen(read) as report:
        return report.read()
