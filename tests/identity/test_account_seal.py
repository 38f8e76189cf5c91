"""A database writer changes one column of an account or a browser session: nothing opens.

Each test flips one column the seal covers straight in the database, as someone with
write access to it could, and shows the vault refuses the account or the session.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update
from sqlmodel import col

from tests.support import DEFAULT_PASSWORD, create_user, create_user_over_api, login
from vault.app import create_app
from vault.identity import totp
from vault.identity.models import User
from vault.identity.session_models import WebSession
from vault.services import Services
from vault.web.common import DASHBOARD_COOKIE, web_sessions
from vault.web.sessions import token_digest

ORG = "rutan-jakpus"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _set(services: Services, table: Any, row_id: uuid.UUID, column: str, value: object) -> None:
    """Write one column straight into the database, with no seal made again."""
    with services.db.session() as session:
        session.execute(update(table).where(table.id == row_id).values({column: value}))


def _column(services: Services, table: Any, row_id: uuid.UUID, column: str) -> Any:
    with services.db.read_session() as session:
        return session.execute(
            select(getattr(table, column)).where(table.id == row_id)
        ).scalar_one()


def test_a_password_hash_swapped_in_the_database_opens_nothing(
    client: TestClient[Litestar], services: Services
) -> None:
    """A hash of a password the writer knows, put in place of the real one, is refused."""
    victim = create_user(services, "victim", "counselor", ORG)
    headers = login(client, "victim")
    known = services.hasher.hash("the writer's own password")
    _set(services, User, victim, "password_hash", known)
    attempt = {"username": "victim", "password": "the writer's own password"}
    assert client.post("/v1/auth/login", json=attempt).status_code == 401
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_a_second_factor_switched_off_in_the_database_opens_nothing(
    client: TestClient[Litestar], services: Services
) -> None:
    """An enrolled second factor turned off by hand does not let a password alone in."""
    user_id = create_user(services, "guarded", "admin", ORG)
    enrolment = services.identity.start_totp(user_id)
    services.identity.confirm_totp(user_id, totp.code_at(enrolment.secret, services.clock()))
    _set(services, User, user_id, "totp_confirmed", False)
    attempt = {"username": "guarded", "password": DEFAULT_PASSWORD}
    assert client.post("/v1/auth/login", json=attempt).status_code == 401


def test_a_disabled_account_re_enabled_in_the_database_stays_refused(
    client: TestClient[Litestar], services: Services
) -> None:
    """Clearing disabled_at by hand does not bring a disabled account back."""
    user_id = create_user(services, "gone", "officer", ORG)
    services.identity.disable_user(user_id)
    _set(services, User, user_id, "disabled_at", None)
    attempt = {"username": "gone", "password": DEFAULT_PASSWORD}
    assert client.post("/v1/auth/login", json=attempt).status_code == 401


def test_an_approval_written_in_the_database_opens_nothing(
    client: TestClient[Litestar], services: Services
) -> None:
    """A pending account given an approval time by hand still cannot log in."""
    create_user(services, "root", "admin", ORG)
    pending = create_user_over_api(client, login(client, "root"), None, "eager", "counselor", ORG)
    _set(services, User, uuid.UUID(pending), "approved_at", services.clock())
    attempt = {"username": "eager", "password": DEFAULT_PASSWORD}
    assert client.post("/v1/auth/login", json=attempt).status_code == 401


def test_an_account_rolled_back_to_an_earlier_epoch_is_refused(
    client: TestClient[Litestar], services: Services
) -> None:
    """The epoch is sealed: a row whose epoch was changed by hand is refused."""
    user_id = create_user(services, "epochal", "officer", ORG)
    headers = login(client, "epochal")
    epoch = _column(services, User, user_id, "epoch")
    _set(services, User, user_id, "epoch", epoch + 1)
    assert client.get("/v1/me", headers=headers).status_code == 401


def _dashboard_session(client: TestClient[Litestar], services: Services) -> uuid.UUID:
    create_user(services, "auditor", "compliance_officer", ORG)
    page = client.get("/dashboard/login")
    token = CSRF.search(page.text)
    assert token is not None
    response = client.post(
        "/dashboard/login",
        data={"csrf_token": token.group(1), "username": "auditor", "password": DEFAULT_PASSWORD},
    )
    assert response.status_code == 200, response.text
    with services.db.read_session() as session:
        session_id: uuid.UUID = session.execute(select(col(WebSession.id))).scalar_one()
    return session_id


@pytest.mark.parametrize("column", ["token_hash", "ended_at", "last_seen_at", "created_at"])
def test_a_browser_session_changed_in_the_database_no_longer_resolves(
    services: Services, column: str
) -> None:
    """Each sealed column of a live session, changed by hand, ends it."""
    app = create_app(services.settings, services)
    with TestClient(app, base_url="http://127.0.0.1") as browser:
        session_id = _dashboard_session(browser, services)
        assert browser.get("/dashboard", follow_redirects=False).status_code == 200
        if column == "ended_at":
            # An ended session brought back: end it, then clear its end.
            web_sessions(services).end(session_id)
            _set(services, WebSession, session_id, "ended_at", None)
        elif column == "token_hash":
            # The session re-pointed at a cookie value the writer chose.
            chosen = "w" * 43
            _set(services, WebSession, session_id, "token_hash", token_digest(chosen))
            browser.cookies.clear()
            browser.cookies.set(DASHBOARD_COOKIE, chosen)
        else:
            # Made younger or more recently used, to outlive its lifetime or idle time.
            moment = _column(services, WebSession, session_id, column)
            _set(services, WebSession, session_id, column, moment + timedelta(seconds=1))
        assert browser.get("/dashboard", follow_redirects=False).status_code in (302, 303)
