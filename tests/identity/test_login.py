"""Login, tokens, logout, disabled users and the authentication middleware."""

from __future__ import annotations

import re
from typing import Any

from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from tests.support import DEFAULT_PASSWORD, Clock, create_user, login
from vault.http.authentication import OPEN_PATH_PATTERNS
from vault.identity.models import AuthToken
from vault.identity.tokens import token_digest
from vault.services import Services


def test_login_me_logout(client: TestClient[Litestar], services: Services) -> None:
    """A user logs in, is recognised by /v1/me, and the token dies at logout."""
    user_id = create_user(services, "ana", "counselor", "rutan-jakpus")
    headers = login(client, "ana")
    me = client.get("/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {
        "id": str(user_id),
        "username": "ana",
        "role": "counselor",
        "organization": "rutan-jakpus",
    }
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    again = client.get("/v1/me", headers=headers)
    assert again.status_code == 401
    assert again.headers["content-type"].startswith("application/problem+json")


def test_token_is_stored_only_as_its_digest(
    client: TestClient[Litestar], services: Services
) -> None:
    """The database holds the SHA-256 of the token, never the token itself."""
    create_user(services, "budi", "officer", "rutan-jakpus")
    response = client.post(
        "/v1/auth/login", json={"username": "budi", "password": DEFAULT_PASSWORD}
    )
    body = response.json()
    assert body["token_type"] == "bearer"
    token = body["access_token"]
    assert len(token) >= 43
    with services.db.read_session() as session:
        stored = list(session.execute(select(AuthToken.token_hash)).scalars())
    assert stored == [token_digest(token)]
    assert token not in stored


def test_token_expires(client: TestClient[Litestar], services: Services, clock: Clock) -> None:
    """A token stops working once its lifetime has passed."""
    create_user(services, "citra", "social_worker", "rutan-jakpus")
    headers = login(client, "citra")
    clock.advance(services.settings.token_ttl_seconds - 1)
    assert client.get("/v1/me", headers=headers).status_code == 200
    clock.advance(1)
    assert client.get("/v1/me", headers=headers).status_code == 401


def test_disabling_a_user_revokes_their_tokens(
    client: TestClient[Litestar], services: Services
) -> None:
    """Disabling a user kills their live token at once and they cannot log in again."""
    create_user(services, "root1", "admin", "rutan-jakpus")
    victim = create_user(services, "dewi", "counselor", "rutan-jakpus")
    admin = login(client, "root1")
    victim_headers = login(client, "dewi")
    response = client.post(f"/v1/users/{victim}/disable", headers=admin)
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    assert client.get("/v1/me", headers=victim_headers).status_code == 401
    denied = client.post("/v1/auth/login", json={"username": "dewi", "password": DEFAULT_PASSWORD})
    assert denied.status_code == 401


def test_wrong_password_and_unknown_user_look_the_same(
    client: TestClient[Litestar], services: Services
) -> None:
    """A wrong password and an unknown user get the same status and message."""
    create_user(services, "eko", "officer", "rutan-jakpus")
    wrong = client.post("/v1/auth/login", json={"username": "eko", "password": "x" * 20})
    unknown = client.post("/v1/auth/login", json={"username": "nobody", "password": "x" * 20})
    assert wrong.status_code == unknown.status_code == 401
    strip = {"request_id"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }


def test_forged_and_malformed_tokens_are_refused(
    client: TestClient[Litestar], services: Services
) -> None:
    """Made-up, oversized, or non-bearer credentials get 401, not an error."""
    create_user(services, "fajar", "officer", "rutan-jakpus")
    real = login(client, "fajar")["Authorization"].removeprefix("Bearer ")
    for header in (
        "Bearer " + "A" * 43,
        "Bearer " + real[:-1] + ("A" if real[-1] != "A" else "B"),
        "Bearer " + "x" * 5000,
        "Basic " + real,
        real,
        "Bearer ",
    ):
        assert client.get("/v1/me", headers={"Authorization": header}).status_code == 401


def test_only_admins_create_users(client: TestClient[Litestar], services: Services) -> None:
    """A counselor cannot create a user; an admin can, and once a compliance officer
    approves the new account it can log in."""
    create_user(services, "root2", "admin", "rutan-jakpus")
    create_user(services, "gita", "counselor", "rutan-jakpus")
    create_user(services, "kartika", "compliance_officer", "rutan-jakpus")
    body = {
        "username": "hadi",
        "password": "a long enough password",
        "role": "health_officer",
        "organization": "rutan-jakpus",
    }
    assert client.post("/v1/users", json=body, headers=login(client, "gita")).status_code == 403
    created = client.post("/v1/users", json=body, headers=login(client, "root2"))
    assert created.status_code == 201
    assert created.json()["role"] == "health_officer"
    assert created.json()["status"] == "pending"
    assert "password" not in created.text
    assert "argon2" not in created.text
    approved = client.post(
        f"/v1/users/{created.json()['id']}/approve", headers=login(client, "kartika")
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "awaiting_activation"
    activation = {
        "username": "hadi",
        "password": "a long enough password",
        "activation_code": approved.json()["activation_code"],
        "new_password": "hadi's very own password",
    }
    assert client.post("/v1/auth/activate", json=activation).status_code == 200
    login(client, "hadi", "hadi's very own password")


def test_user_for_unknown_organisation_is_refused(
    client: TestClient[Litestar], services: Services
) -> None:
    """Creating a user in an organisation that does not exist is a 404 (as is one in another
    organisation); an unknown role is a 422."""
    create_user(services, "root3", "admin", "rutan-jakpus")
    admin = login(client, "root3")
    body = {"username": "ikhsan", "password": "a long enough password", "role": "officer"}
    assert (
        client.post(
            "/v1/users", json={**body, "organization": "lapas-nowhere"}, headers=admin
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/v1/users",
            json={**body, "organization": "rutan-jakpus", "role": "superuser"},
            headers=admin,
        ).status_code
        == 422
    )
    duplicate = {**body, "organization": "rutan-jakpus", "username": "root3"}
    assert client.post("/v1/users", json=duplicate, headers=admin).status_code == 409


def _is_open(route_path: str, handler: Any) -> bool:
    if handler.opt.get("exclude_from_auth"):
        return True
    return any(re.search(pattern, route_path) for pattern in OPEN_PATH_PATTERNS)


def test_every_route_but_the_open_ones_needs_a_token(client: TestClient[Litestar]) -> None:
    """Each registered route of every capability answers 401 without a token."""
    app = client.app
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            path = re.sub(r"\{[^}:]+:uuid\}", "00000000-0000-4000-8000-000000000000", route.path)
            path = re.sub(r"\{[^}:]+:int\}", "1", path)
            path = re.sub(r"\{[^}:]+(:[a-z]+)?\}", "x", path)
            if _is_open(path, handler):
                continue
            for method in sorted(handler.http_methods - {"OPTIONS", "HEAD"}):
                response = client.request(method, path)
                assert response.status_code == 401, (method, route.path, response.status_code)
                checked += 1
    assert checked >= 5


def test_open_routes_are_only_the_intended_ones(client: TestClient[Litestar]) -> None:
    """Routes open without a token are declared so; look-alike paths are not open."""
    open_paths = {
        route.path
        for route in client.app.routes
        for handler in getattr(route, "route_handlers", [])
        if handler.opt.get("exclude_from_auth")
    }
    assert {"/health", "/v1/auth/login"} <= open_paths
    # Paths that merely contain an open route's name are not open.
    assert client.get("/v1/auth/login-history").status_code in (401, 404)
    assert client.get("/schema/../v1/me").status_code in (401, 404)
