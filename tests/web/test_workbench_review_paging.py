"""The access review in pages of the configured size: next and previous on the page in both
languages and in ``GET /v1/audit/access-review``, every item on exactly one page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar.testing import TestClient

from tests.conftest import make_settings
from tests.support import login
from tests.web.conftest import ORG, PASSWORD, World, csrf_of, staff_login
from vault.config import Settings
from vault.vocabulary import Principal, Role

Client = TestClient  # type: ignore[type-arg]
SIZE = 5
ROW = re.compile(r'action="/dashboard/review/(account|assignment)/([0-9a-f-]{36})"')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path, access_review_page_size=SIZE)


def _three_assignments(world: World) -> None:
    """Four accounts of the organisation and three assignments: seven items, two pages."""
    officer = Principal(world.officers[ORG], Role.OFFICER, ORG)
    counselor = world.services.identity.user_by_name("counselor1").id
    for _ in range(3):
        world.services.access.assign(officer, counselor, world.subject(pin=None))


def test_the_review_page_shows_pages_with_next_and_previous_in_both_languages(
    world: World, client: Client
) -> None:
    """Page one links to page two and back; every item shows on one page; English too."""
    _three_assignments(world)
    page = staff_login(client, "compliance1", "/dashboard/login")
    first = client.get("/dashboard/review").text
    assert "Halaman 1 dari 2 (7 butir)" in first
    assert 'href="/dashboard/review?page=2">Berikutnya' in first
    assert "Sebelumnya" not in first
    second = client.get("/dashboard/review?page=2").text
    assert 'href="/dashboard/review?page=1">← Sebelumnya' in second
    assert "Berikutnya" not in second
    ones, twos = set(ROW.findall(first)), set(ROW.findall(second))
    # compliance1's own account has no buttons: six of the seven items carry a form.
    assert len(ones) + len(twos) == 6
    assert not ones & twos
    assert len(ones | twos) == 6
    assert client.get("/dashboard/review?page=99").text.count("Halaman 2 dari 2") == 2
    assert client.get("/dashboard/review?page=0").status_code == 400
    client.post("/dashboard/language", data={"csrf_token": csrf_of(page), "language": "en"})
    english = client.get("/dashboard/review").text
    assert "Page 1 of 2 (7 items)" in english
    assert 'href="/dashboard/review?page=2">Next' in english
    assert "← Previous" in client.get("/dashboard/review?page=2").text


def test_the_review_api_pages_with_next_and_previous(world: World, client: Client) -> None:
    """GET /v1/audit/access-review?page=N answers one page and names the pages around it."""
    _three_assignments(world)
    officer = login(client, "compliance1", PASSWORD)
    first = client.get("/v1/audit/access-review", headers=officer).json()
    assert (first["page"], first["pages"], first["total"], first["page_size"]) == (1, 2, 7, SIZE)
    assert (first["previous_page"], first["next_page"]) == (None, 2)
    assert len(first["items"]) == SIZE
    second = client.get("/v1/audit/access-review?page=2", headers=officer).json()
    assert (second["previous_page"], second["next_page"]) == (1, None)
    assert len(second["items"]) == 7 - SIZE
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert len(set(ids)) == 7
    past = client.get("/v1/audit/access-review?page=50", headers=officer).json()
    assert past["page"] == 2
    assert client.get("/v1/audit/access-review?page=0", headers=officer).status_code == 400
