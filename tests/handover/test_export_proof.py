"""The bundle proves its export was logged: an inclusion proof against a signed tree head
of the sender's audit log, which the recipient checks with the sender's log keys."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.handover.handover_support import SENTRA, Pair
from vault.crypto.hpke import public_jwk_key
from vault.handover.bundle import BundleRefused, open_bundle, seal_bundle
from vault.handover.proof import ExportProver, check_export_proof


def _opened(pair: Pair, bundle: str) -> Any:
    return open_bundle(
        bundle,
        sender_keys=pair.world.services.signer.verification_keys(),
        own_organization=SENTRA,
        own_key=pair.sentra.handover.key,
        now=pair.sentra.clock(),
    )


def _resealed(pair: Pair, bundle: str, change: Callable[[dict[str, Any]], None]) -> str:
    """The bundle with its content changed, sealed and signed again by the prison itself:
    only the proof can give the change away."""
    opened = _opened(pair, bundle)
    content = opened.content
    change(content)
    current = pair.world.services.signer.current()
    clear = {k: v for k, v in opened.envelope.items() if k not in ("sealed", "format")}
    resealed = seal_bundle(
        clear=clear,
        recipient_public_raw=public_jwk_key(pair.sentra.handover.key.public_jwk()),
        content=content,
        kid=current.key_id,
        sign=current.sign,
    )
    return json.dumps(resealed)


def _flip(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode("ascii")


def test_the_bundle_carries_a_proof_of_its_logged_export(pair: Pair) -> None:
    """The proof in the bundle verifies under the prison's log keys and names this very
    export: its bundle id, recipient and consent."""
    consent_id = pair.consent_to_handover()
    bundle = pair.export()
    opened = _opened(pair, bundle)
    proof = opened.content["export_proof"]
    keys = ExportProver(pair.world.services.audit).log_keys()
    seq = check_export_proof(proof, opened.envelope, keys)
    assert seq == opened.content["export_event_seq"]
    event = json.loads(base64.b64decode(proof["inclusion"]["event"]["canonical"]))
    assert event["details"]["bundle_id"] == opened.envelope["bundle_id"]
    assert event["consent_id"] == consent_id
    # The sentra's own log keys do not vouch for the prison's head.
    with pytest.raises(BundleRefused):
        check_export_proof(proof, opened.envelope, ExportProver(pair.sentra.audit).log_keys())


def _bad_path(content: dict[str, Any]) -> None:
    path = content["export_proof"]["inclusion"]["path"]
    path[0] = _flip(path[0])


def _bad_event(content: dict[str, Any]) -> None:
    event = content["export_proof"]["inclusion"]["event"]
    event["canonical"] = _flip(event["canonical"])


def _bad_head(content: dict[str, Any]) -> None:
    proof = content["export_proof"]
    proof["head"] = proof["head"].replace("\n", "\n ", 1)


def _no_proof(content: dict[str, Any]) -> None:
    content["export_proof"] = None


@pytest.mark.parametrize("tamper", [_bad_path, _bad_event, _bad_head, _no_proof])
def test_a_bundle_whose_proof_fails_is_refused_and_nothing_stored(
    pair: Pair, tamper: Callable[[dict[str, Any]], None]
) -> None:
    """A changed proof node, event or head, or no proof at all, is refused as bad-proof
    even though the prison's signature on the bundle is good; the sentra stores nothing."""
    pair.consent_to_handover()
    before = pair.stored_counts()
    bundle = _resealed(pair, pair.export(), tamper)
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    assert refused.value.reason == "bad-proof"
    assert pair.stored_counts() == before


def test_the_proof_of_another_export_is_refused(pair: Pair) -> None:
    """A genuine proof of another bundle's export, put into this one, is refused: the
    logged event must be this bundle's export."""
    pair.consent_to_handover()
    first, second = pair.export(), pair.export()
    borrowed = _opened(pair, first).content["export_proof"]

    def borrow(content: dict[str, Any]) -> None:
        content["export_proof"] = borrowed

    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, _resealed(pair, second, borrow))
    assert refused.value.reason == "bad-proof"
    pair.sentra.handover.import_bundle(pair.sentra_officer, second)
