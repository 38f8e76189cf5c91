"""Populations for the statistics tests: subjects, their consents and program outcomes.
A helper module, not a test module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from litestar.testing import TestClient

from tests.support import DEFAULT_PASSWORD, choose_pin
from tests.world import SUBJECT_PIN, World
from vault.app import create_app

OUTCOME = {
    "program": "vocational",
    "ended_on": "2025-06-30",
    "completed": "yes",
    "employed_6m": "yes",
    "reoffended_12m": "no",
}


def subject(world: World, n: int) -> str:
    body = world.post(
        "officer",
        "/v1/subjects",
        {
            "full_name": f"Subject {n}",
            "nik": f"31710123456{n:05d}",
            "register_number": f"AI {n}/2025",
            "date_of_birth": "1990-04-17",
            "organization": "rutan-jakpus",
        },
    )
    subject_id = str(body["id"])
    choose_pin(world.services, subject_id, SUBJECT_PIN)
    world.post(
        "admin",
        "/v1/assignments",
        {"user_id": world.user_ids["counselor"], "subject_id": subject_id},
    )
    return subject_id


def consent(world: World, subject_id: str, purposes: list[str]) -> str:
    return world.sign_consent(purposes, subject_id)


def outcome(world: World, subject_id: str, **fields: str) -> None:
    response = world.client.post(
        f"/v1/subjects/{subject_id}/records",
        json={"type": "program_outcome", "fields": {**OUTCOME, **fields}},
        headers=world.auth("counselor"),
    )
    assert response.status_code == 201, response.text


@contextmanager
def dashboard_as(world: World, who: str) -> Iterator[Any]:
    """A browser (its own client on the world's services) with ``who`` logged in at the
    dashboard's login page."""
    app = create_app(world.services.settings, services=world.services)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        path = "/dashboard/login?lang=en"
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
        assert token is not None
        client.post(
            path,
            data={"csrf_token": token.group(1), "username": who, "password": DEFAULT_PASSWORD},
        )
        yield client
