"""The bundle test vector printed in docs/handover.md opens to the content it states."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vault.crypto.hpke import HandoverKey
from vault.handover.bundle import BundleRefused, open_bundle

PAGE = Path(__file__).resolve().parents[2] / "docs" / "handover.md"


def _vector() -> Any:
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(r"<!-- handover-vector -->\n```json\n(.*?)\n```", text, re.S)
    assert match is not None, "the vector block is missing from docs/handover.md"
    return json.loads(match.group(1))


def test_the_documented_vector_verifies_and_opens() -> None:
    """The documented bundle verifies against the documented sender key and opens, with the
    documented recipient key, to exactly the documented content."""
    vector = _vector()
    key = HandoverKey(bytes.fromhex(str(vector["recipient_private_key_hex"])))
    assert key.public_jwk() == vector["recipient_public_jwk"]
    opened = open_bundle(
        json.dumps(vector["bundle"]),
        sender_keys=[vector["sender_public_jwk"]],
        own_organization="sentra-handayani",
        own_key=key,
        now=datetime(2026, 1, 6, tzinfo=UTC),
    )
    assert opened.content == vector["content"]


def test_the_vector_with_one_member_changed_does_not_verify() -> None:
    """Changing the documented bundle's sender breaks its signature."""
    vector = _vector()
    bundle = dict(vector["bundle"])
    bundle["envelope"] = {**bundle["envelope"], "sender": "rutan-other"}
    key = HandoverKey(bytes.fromhex(str(vector["recipient_private_key_hex"])))
    with pytest.raises(BundleRefused):
        open_bundle(
            json.dumps(bundle),
            sender_keys=[vector["sender_public_jwk"]],
            own_organization="sentra-handayani",
            own_key=key,
            now=datetime(2026, 1, 6, tzinfo=UTC),
        )
