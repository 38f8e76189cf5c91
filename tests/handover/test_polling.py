"""The recipient polls the sender for withdrawal notices after a cursor; it sees only its
own organisation's, and a polled withdrawal stops its reads."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.handover.handover_support import SENTRA, Pair, trust
from vault.crypto.signing import b64url_decode
from vault.errors import Forbidden

OTHER = "sentra-lain"


def _poll(pair: Pair, who: str, after: int = 0) -> Any:
    response = pair.world.client.get(
        "/v1/handover/notices", params={"after": after}, headers=pair.world.auth(who)
    )
    assert response.status_code == 200, response.text
    return response.json()


def _payload(token: str) -> Any:
    return json.loads(b64url_decode(token.split(".")[1]))


def test_a_polled_withdrawal_reaches_the_sentra_which_stops_serving(pair: Pair) -> None:
    """Nothing is due before the withdrawal; after it the sentra's account polls one signed
    notice, the sentra verifies it and refuses the next read; polling after the cursor
    gives nothing new, and from the start the same notice again."""
    pair.world.join("sentra_at_prison", "officer", SENTRA)
    consent_id = pair.consent_to_handover()
    imported = pair.import_for_worker(pair.export())
    subject_id = uuid.UUID(imported["subject_id"])
    assert _poll(pair, "sentra_at_prison") == {"notices": [], "next": 0}
    pair.world.post("officer", f"/v1/consents/{consent_id}/withdraw", {"reason": "moved"})
    page = _poll(pair, "sentra_at_prison")
    assert len(page["notices"]) == 1
    notice = page["notices"][0]
    assert page["next"] == notice["cursor"] > 0
    assert _payload(notice["notice"])["consent_id"] == consent_id
    pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
    pair.sentra.handover_notices.receive(pair.sentra_officer, notice["notice"])
    with pytest.raises(Forbidden):
        pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
    assert _poll(pair, "sentra_at_prison", page["next"]) == {
        "notices": [],
        "next": page["next"],
    }
    assert _poll(pair, "sentra_at_prison")["notices"] == [notice]


def test_another_organisation_never_sees_the_notices(pair: Pair) -> None:
    """A case handed over to two sentras (a consent naming each) and then withdrawn gives
    each sentra's account
    its own notice only; the prison's own officer polls none, and a sentra counselor is
    refused."""
    trust(pair.world.services, OTHER, pair.sentra)
    pair.world.join("sentra_at_prison", "officer", SENTRA)
    pair.world.join("other_at_prison", "officer", OTHER)
    pair.world.join("sentra_counselor_at_prison", "counselor", SENTRA)
    first = pair.consent_to_handover([SENTRA])
    pair.export(SENTRA)
    second = pair.consent_to_handover([OTHER])
    pair.export(OTHER)
    for consent_id in (second, first):  # the newer consent may have replaced the first
        pair.world.client.post(
            f"/v1/consents/{consent_id}/withdraw", json={}, headers=pair.world.auth("officer")
        )
    mine = _poll(pair, "sentra_at_prison")["notices"]
    theirs = _poll(pair, "other_at_prison")["notices"]
    assert [_payload(n["notice"])["recipient"] for n in mine] == [SENTRA]
    assert [_payload(n["notice"])["recipient"] for n in theirs] == [OTHER]
    assert _poll(pair, "officer")["notices"] == []
    refused = pair.world.client.get(
        "/v1/handover/notices", headers=pair.world.auth("sentra_counselor_at_prison")
    )
    assert refused.status_code == 403
    assert "eyJ" not in refused.text
