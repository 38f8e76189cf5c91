"""The OpenAPI document reads like documentation a generated client can be built from."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from vault.app import create_app
from vault.bootstrap import initialise
from vault.config import Settings

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")


@pytest.fixture
def document(settings: Settings) -> dict[str, Any]:
    initialise(settings)
    with TestClient(app=create_app(settings)) as client:
        response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_every_operation_has_a_meaningful_unique_id(document: dict[str, Any]) -> None:
    """Operation ids are the handlers' names in camelCase, unique, never a wrapper's name."""
    ids = [operation.get("operationId", "") for _, _, operation in _operations(document)]
    assert all(CAMEL_CASE.match(i) for i in ids), ids
    assert not [i for i in ids if "callable" in i.lower()]
    assert len(ids) == len(set(ids))


def test_every_operation_has_a_summary_and_a_description(document: dict[str, Any]) -> None:
    """Each operation is summarised and described from its handler's docstring."""
    missing = [
        f"{method} {path}"
        for method, path, operation in _operations(document)
        if not operation.get("summary")
        or not operation.get("description")
        or "callable" in operation["summary"].lower()
        or "Wrap a given callable" in operation["description"]
    ]
    assert missing == []
