"""Properties of every web page: login required, escaping, nothing loaded from outside,
the dashboard's role check, security headers and cookie flags."""

from __future__ import annotations

import re
import uuid

from litestar.testing import TestClient

from tests.web.conftest import PASSWORD, World, csrf_of, open_kiosk, staff_login
from tests.web.kiosk_support import sign_all
from vault.web.routes import STATIC_PATH

OPEN_PATHS = {"/kiosk/login", "/dashboard/login", "/kiosk/ended"}
OUTSIDE_URL = re.compile(r"""(?:https?:)?//(?!127\.0\.0\.1[:/])[A-Za-z0-9.-]+""")


def _web_routes(client: TestClient) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    routes = []
    for route in client.app.routes:
        if not route.path.startswith(("/kiosk", "/dashboard")):
            continue
        for method in sorted(getattr(route, "methods", ())):
            if method not in ("OPTIONS", "HEAD"):
                routes.append((method, route.path))
    return routes


def _concrete(path: str) -> str:
    path = re.sub(r"\{[a-z_]+:uuid\}", str(uuid.uuid4()), path)
    path = re.sub(r"\{[a-z_]+:int\}", "1", path)
    return re.sub(r"\{[a-z_]+:str\}", "rehabilitation", path)


def test_every_page_but_the_login_pages_needs_a_session(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Without a cookie, every kiosk and dashboard route redirects to a login page (or refuses)."""
    routes = _web_routes(client)
    assert len(routes) > 20
    for method, path in routes:
        if path in OPEN_PATHS:
            continue
        response = client.request(method, _concrete(path), follow_redirects=False, data={})
        assert response.status_code in (303, 401, 403), (method, path, response.status_code)
        if response.status_code == 303:
            assert response.headers["location"].startswith(("/kiosk/login", "/dashboard/login"))


def test_a_forged_cookie_opens_nothing(world: World, client: TestClient) -> None:  # type: ignore[type-arg]
    """A made-up session cookie (or a bearer token in its place) is treated as no session."""
    client.cookies.set("vault_kiosk", "A" * 43)
    client.cookies.set("vault_dashboard", "A" * 43)
    for path in ("/kiosk/home", "/kiosk/consents", "/dashboard"):
        assert client.get(path, follow_redirects=False).status_code == 303


def test_text_with_markup_is_shown_as_text(world: World, client: TestClient) -> None:  # type: ignore[type-arg]
    """A <script> in a filter, a break-glass justification or a guardian's name is escaped."""
    script = "<script>alert(1)</script>"
    subject = world.subject()
    token = client.post(
        "/v1/auth/login", json={"username": "counselor1", "password": PASSWORD}
    ).json()["access_token"]
    opened = client.post(
        f"/v1/subjects/{subject}/break-glass",
        json={"justification": f"Seizure in cell block {script} needs history now"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert opened.status_code == 201, opened.text
    staff_login(client, "compliance1", "/dashboard/login")
    page = client.get("/dashboard", params={"action": script})
    assert page.status_code == 200
    assert script not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_no_page_loads_anything_from_outside_the_vault(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """No rendered page names an http(s):// or protocol-relative URL outside the vault."""
    subject = world.subject()
    pages = [client.get("/kiosk/login").text]
    pages.append(open_kiosk(client, subject))
    for path in ("/kiosk/forms/rehabilitation", "/kiosk/forms/rehabilitation/purposes/1"):
        pages.append(client.get(path).text)
    pages.append(sign_all(client, refuse=frozenset({"handover_kemensos"})))
    pages += [client.get(p).text for p in ("/kiosk/consents", "/kiosk/disclosures")]
    client.cookies.clear()
    pages.append(client.get("/dashboard/login").text)
    pages.append(staff_login(client, "compliance1", "/dashboard/login"))
    pages.append(client.get(f"{STATIC_PATH}/vault.css").text)
    for html in pages:
        assert OUTSIDE_URL.findall(html) == []
        assert "<script" not in html  # the pages need no script at all


def test_dashboard_is_for_compliance_officers_only(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """An officer or counselor is refused (403) at the dashboard login; a kiosk session
    does not open the dashboard."""
    for username in ("officer1", "counselor1"):
        page = client.get("/dashboard/login")
        response = client.post(
            "/dashboard/login",
            data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD},
        )
        assert response.status_code == 403
        assert client.get("/dashboard", follow_redirects=False).status_code == 303
    open_kiosk(client, world.subject())
    assert client.get("/dashboard", follow_redirects=False).status_code == 303
    assert client.get("/dashboard/export", follow_redirects=False).status_code == 303


def test_cookies_and_headers_protect_the_session(
    world: World,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    """Session cookies are HttpOnly and SameSite=Strict; pages are not cached or framed."""
    page = client.get("/kiosk/login")
    response = client.post(
        "/kiosk/login",
        data={"csrf_token": csrf_of(page.text), "username": "officer1", "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if "vault_kiosk=" in c)
    assert "HttpOnly" in cookie
    assert "samesite=strict" in cookie.lower()
    start = client.get("/kiosk/start")
    assert start.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in start.headers["content-security-policy"]


def test_secure_cookie_off_loopback(world: World) -> None:
    """Reached under another host name, the session cookie carries the Secure flag."""
    from vault.app import create_app

    app = create_app(world.services.settings, services=world.services)
    with TestClient(app, base_url="http://testserver.local") as other:
        page = other.get("/kiosk/login")
        cookie = next(c for c in page.headers.get_list("set-cookie") if "vault_login_csrf" in c)
        assert "Secure" in cookie
