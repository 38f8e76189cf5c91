"""Brute-force limits, TOTP (with replay), MFA for privileged roles, rehash, audit of logins."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.testing import TestClient

from tests.conftest import make_settings
from tests.support import DEFAULT_PASSWORD, Clock, RecordingAudit, create_user, login
from vault.audit.events import Outcome
from vault.errors import AuthenticationFailed, RateLimited
from vault.identity import totp
from vault.identity.models import LoginFailureKind, User
from vault.identity.passwords import SecretHasher
from vault.services import Services, build_services

WRONG = "definitely not the password"


def _attempt(client: TestClient[Litestar], username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return client.post("/v1/auth/login", json=body).status_code


def test_account_is_limited_after_repeated_failures(
    client: TestClient[Litestar], services: Services, clock: Clock
) -> None:
    """After the allowed failures the account answers 429 with Retry-After, even to the right
    password, and opens again when the window has passed."""
    create_user(services, "joko", "counselor", "rutan-jakpus")
    limit = services.settings.login_max_failures
    for _ in range(limit):
        assert _attempt(client, "joko", WRONG) == 401
    limited = client.post("/v1/auth/login", json={"username": "joko", "password": DEFAULT_PASSWORD})
    assert limited.status_code == 429
    retry_after = int(limited.headers["retry-after"])
    assert 0 < retry_after <= services.settings.login_window_seconds
    clock.advance(retry_after)
    assert _attempt(client, "joko", DEFAULT_PASSWORD) == 200


def test_limit_does_not_reveal_whether_the_account_exists(
    client: TestClient[Litestar], services: Services
) -> None:
    """An unknown username is limited exactly like a real one, with the same message."""
    create_user(services, "kartika", "counselor", "rutan-jakpus")
    limit = services.settings.login_max_failures
    bodies = {}
    for name in ("kartika", "ghost-user"):
        for _ in range(limit):
            _attempt(client, name, WRONG)
        response = client.post("/v1/auth/login", json={"username": name, "password": WRONG})
        assert response.status_code == 429
        bodies[name] = {k: v for k, v in response.json().items() if k != "request_id"}
    assert bodies["kartika"] == bodies["ghost-user"]


def test_address_is_limited_across_accounts(settings_factory: object, tmp_path: Path) -> None:
    """Spraying one password over many accounts from one address hits the address limit."""
    assert callable(settings_factory)
    services = settings_factory(login_max_failures=3)
    try:
        for name in ("u-one", "u-two", "u-three"):
            create_user(services, name, "officer", "rutan-jakpus")
        for name in ("u-one", "u-two", "u-three"):
            with pytest.raises(AuthenticationFailed):
                services.identity.login(name, WRONG)
        assert services.identity.count_failures(LoginFailureKind.ADDRESS, "unknown") == 3
        with pytest.raises(RateLimited):
            services.identity.login("u-one", DEFAULT_PASSWORD)
    finally:
        services.close()


@pytest.fixture
def settings_factory(database_url: str, tmp_path: Path) -> object:
    def build(**overrides: object) -> Services:
        settings = make_settings(database_url, tmp_path, **overrides)
        return build_services(settings, clock=Clock(), migrate=True)

    return build


def test_unknown_user_costs_a_hash(services: Services) -> None:
    """A login for an unknown user does the work of one argon2 verification (timing)."""
    calls: list[str] = []
    hasher = services.identity.hasher
    original = hasher.verify

    def counting(stored: str, secret: str) -> bool:
        calls.append(stored)
        return original(stored, secret)

    hasher.verify = counting  # type: ignore[method-assign]
    with pytest.raises(AuthenticationFailed):
        services.identity.login("nobody-here", WRONG)
    assert len(calls) == 1


def test_login_events_are_audited_without_secrets(
    client: TestClient[Litestar], services: Services, events: RecordingAudit
) -> None:
    """Logins, failures and logouts are audited; no password or token appears in any event."""
    create_user(services, "lina", "officer", "rutan-jakpus")
    _attempt(client, "lina", WRONG)
    response = client.post(
        "/v1/auth/login", json={"username": "lina", "password": DEFAULT_PASSWORD}
    )
    token = response.json()["access_token"]
    client.post("/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    outcomes = [(e.action, e.outcome) for e in events.events]
    assert ("auth.login", Outcome.DENY) in outcomes
    assert ("auth.login", Outcome.ALLOW) in outcomes
    assert ("auth.logout", Outcome.INFO) in outcomes
    dump = repr(events.events)
    assert DEFAULT_PASSWORD not in dump
    assert WRONG not in dump
    assert token not in dump


def _enrol(services: Services, username: str, clock: Clock) -> str:
    user = services.identity.user_by_name(username)
    secret = services.identity.start_totp(user.id).secret
    services.identity.confirm_totp(user.id, totp.code_at(secret, clock.now))
    clock.advance(30)  # the confirming code is used up; move to the next step
    return secret


def test_totp_code_cannot_be_replayed(services: Services, clock: Clock) -> None:
    """A TOTP code logs in once; the same code again within its window is refused."""
    create_user(services, "mira", "counselor", "rutan-jakpus")
    secret = _enrol(services, "mira", clock)
    code = totp.code_at(secret, clock.now)
    services.identity.login("mira", DEFAULT_PASSWORD, code)
    with pytest.raises(AuthenticationFailed):
        services.identity.login("mira", DEFAULT_PASSWORD, code)
    with pytest.raises(AuthenticationFailed):
        services.identity.login("mira", DEFAULT_PASSWORD, None)
    clock.advance(30)
    services.identity.login("mira", DEFAULT_PASSWORD, totp.code_at(secret, clock.now))


def test_mfa_required_for_privileged_roles(database_url: str, tmp_path: Path) -> None:
    """With require_mfa, an admin without a factor cannot log in; with one, only with a code."""
    clock = Clock()
    settings = make_settings(database_url, tmp_path, require_mfa=True)
    services = build_services(settings, clock=clock, migrate=True)
    try:
        create_user(services, "boss", "admin", "rutan-jakpus")
        create_user(services, "staff", "counselor", "rutan-jakpus")
        services.identity.login("staff", DEFAULT_PASSWORD)  # not a privileged role
        with pytest.raises(AuthenticationFailed, match="second factor"):
            services.identity.login("boss", DEFAULT_PASSWORD)
        secret = _enrol(services, "boss", clock)
        with pytest.raises(AuthenticationFailed):
            services.identity.login("boss", DEFAULT_PASSWORD)
        with pytest.raises(AuthenticationFailed):
            services.identity.login("boss", WRONG, totp.code_at(secret, clock.now))
        clock.advance(30)
        services.identity.login("boss", DEFAULT_PASSWORD, totp.code_at(secret, clock.now))
    finally:
        services.close()


def test_totp_enrolment_over_http(
    client: TestClient[Litestar], services: Services, clock: Clock
) -> None:
    """A user enrols through /v1/me/totp and must then give a code to log in."""
    create_user(services, "nur", "social_worker", "rutan-jakpus")
    headers = login(client, "nur")
    started = client.post("/v1/me/totp", headers=headers)
    assert started.status_code == 201
    secret = started.json()["secret"]
    assert started.json()["provisioning_uri"].startswith("otpauth://totp/")
    bad = client.post("/v1/me/totp/confirm", json={"code": "000000"}, headers=headers)
    assert bad.status_code in (422, 204)
    if bad.status_code == 422:
        ok = client.post(
            "/v1/me/totp/confirm", json={"code": totp.code_at(secret, clock.now)}, headers=headers
        )
        assert ok.status_code == 204
    clock.advance(30)
    assert _attempt(client, "nur", DEFAULT_PASSWORD) == 401
    with_code = client.post(
        "/v1/auth/login",
        json={
            "username": "nur",
            "password": DEFAULT_PASSWORD,
            "totp": totp.code_at(secret, clock.now),
        },
    )
    assert with_code.status_code == 200


def test_password_is_rehashed_when_parameters_change(services: Services) -> None:
    """A hash made with other parameters is replaced at the next successful login."""
    older = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, hash_len=16, salt_len=8)
    old_hash = older.hash(DEFAULT_PASSWORD)
    assert services.hasher.needs_rehash(old_hash)
    create_user(services, "oki", "officer", "rutan-jakpus")
    user = services.identity.user_by_name("oki")
    with services.db.session() as session:
        # As the vault itself wrote it under older parameters: changed and sealed again.
        row = session.get(User, user.id)
        assert row is not None
        row.password_hash = old_hash
        services.identity._seal_authz(row)
    services.identity.login("oki", DEFAULT_PASSWORD)
    with services.db.read_session() as session:
        stored = session.get(User, user.id)
        assert stored is not None
        assert stored.password_hash != old_hash
        assert not services.hasher.needs_rehash(stored.password_hash)


def test_default_profile_is_rfc_9106_low_memory() -> None:
    """Outside tests the hasher uses RFC 9106 low-memory argon2id, and it does real work."""
    hasher = SecretHasher()
    started = time.perf_counter()
    stored = hasher.hash("a secret value")
    assert time.perf_counter() - started > 0.005  # real work, not a shortcut
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert "secret" not in repr(hasher)


def test_verify_never_raises(services: Services) -> None:
    """A mismatch or a malformed stored hash verifies False instead of raising."""
    stored = services.hasher.hash("a secret value")
    assert services.hasher.verify(stored, "a secret value")
    assert not services.hasher.verify(stored, "another value")
    assert not services.hasher.verify("not-a-hash", "x")
    assert services.hasher.needs_rehash("not-a-hash")
