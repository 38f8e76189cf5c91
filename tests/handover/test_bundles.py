"""Handover between two vaults: a subject's case travels under consent, and nothing else does."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.handover.handover_support import FAMILY, HEALTH, PRISON, SENTRA, Pair, trust
from vault.crypto.signing import b64url, b64url_decode
from vault.errors import Forbidden
from vault.handover.bundle import BundleRefused


def test_a_subject_is_handed_over_end_to_end(pair: Pair) -> None:
    """The sentra's vault imports the bundle: a new subject of its own, the records the
    consent covers re-encrypted under its keys, each with its provenance; health data
    the consent does not cover never leaves the prison."""
    pair.world.create_record("social_worker", "family_data", FAMILY)
    pair.world.create_record("health", "health_napza", HEALTH)
    consent_id = pair.consent_to_handover()
    bundle = pair.export()
    assert "CANARY" not in bundle
    result = pair.import_for_worker(bundle)
    assert result["sender"] == PRISON
    assert result["consent_id"] == consent_id
    assert result["subject_id"] != pair.world.subject_id
    case = pair.sentra.handover_notices.read_imported(
        pair.sentra_worker, uuid.UUID(result["subject_id"])
    )
    types = {r["type"]: r["fields"] for r in case["records"]}
    assert types["family_data"]["family_members"] == FAMILY["family_members"]
    assert types["identity"]["nik"] == "3171012345678901"
    assert "health_napza" not in types
    assert "CANARY-NAPZA" not in json.dumps(case)
    for record in case["records"]:
        origin = pair.sentra.handover.provenance(uuid.UUID(record["id"]))
        assert origin is not None
        assert origin.sender == PRISON
        assert str(origin.bundle_id) == result["bundle_id"]
        assert str(origin.consent_id) == consent_id


def test_the_bundle_carries_receipt_notice_and_export_event(pair: Pair) -> None:
    """Opened with the sentra's key, the content holds the signed consent receipt, the
    redisclosure notice in both languages and the sequence number of the export event."""
    from vault.handover.bundle import open_bundle

    pair.consent_to_handover()
    bundle = pair.export()
    opened = open_bundle(
        bundle,
        sender_keys=pair.world.services.signer.verification_keys(),
        own_organization=SENTRA,
        own_key=pair.sentra.handover.key,
        now=pair.sentra.clock(),
    )
    assert opened.content["consent"]["receipt"].count(".") == 2
    assert set(opened.content["notice"]) == {"id", "en"}
    assert isinstance(opened.content["export_event_seq"], int)
    assert opened.content["consent"]["purpose"] == "handover_kemensos"


def test_no_export_without_a_handover_consent_naming_the_recipient(pair: Pair) -> None:
    """Without the handover consent (the world's consent covers counseling only) the
    export is refused, and so it is for an organisation the consent does not name."""
    with pytest.raises(Forbidden):
        pair.export()
    pair.consent_to_handover()
    with pytest.raises(Forbidden):
        pair.export("sentra-other")


def test_a_counselor_may_not_export(pair: Pair) -> None:
    """Export is an officer's act: the counselor of the same subject is refused."""
    from vault.errors import NotFound
    from vault.vocabulary import Principal, Role

    pair.consent_to_handover()
    counselor = Principal(uuid.UUID(pair.world.user_ids["counselor"]), Role.COUNSELOR, PRISON)
    with pytest.raises((Forbidden, NotFound)):
        pair.world.services.handover.export(counselor, uuid.UUID(pair.world.subject_id), SENTRA)


def _refused(pair: Pair, bundle: str, reason: str) -> None:
    before = pair.stored_counts()
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    assert refused.value.reason == reason
    assert pair.stored_counts() == before


def _resigned(pair: Pair, envelope: dict[str, str]) -> str:
    signer = pair.world.services.signer.current()
    from vault.crypto.signing import canonical_json

    return json.dumps(
        {
            "envelope": envelope,
            "kid": signer.key_id,
            "signature": b64url(signer.sign(canonical_json(envelope))),
        }
    )


def test_a_tampered_bundle_is_refused_and_nothing_stored(pair: Pair) -> None:
    """One flipped byte of the sealed content, or a changed clear member, breaks the
    sender's signature; re-signed by someone with the sender's key, the changed member
    still breaks the HPKE context binding."""
    pair.consent_to_handover()
    document = json.loads(pair.export())
    sealed = bytearray(b64url_decode(document["envelope"]["sealed"]))
    sealed[-1] ^= 1
    flipped = {**document, "envelope": {**document["envelope"], "sealed": b64url(bytes(sealed))}}
    _refused(pair, json.dumps(flipped), "bad-signature")
    later = {**document["envelope"], "expires_at": "2099-01-01T00:00:00Z"}
    _refused(pair, json.dumps({**document, "envelope": later}), "bad-signature")
    _refused(pair, _resigned(pair, later), "undecryptable")


def test_a_replayed_bundle_is_refused(pair: Pair) -> None:
    """A bundle imported once is refused the second time, and nothing more is stored."""
    pair.consent_to_handover()
    bundle = pair.export()
    pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    _refused(pair, bundle, "replayed")


def test_a_misaddressed_bundle_is_refused(pair: Pair) -> None:
    """A bundle for another organisation is refused even by a vault that holds the key."""
    from tests.support import create_user
    from vault.vocabulary import Principal, Role

    pair.consent_to_handover()
    bundle = pair.export()
    other = Principal(
        create_user(pair.sentra, "other_officer", "officer", "sentra-other"),
        Role.OFFICER,
        "sentra-other",
    )
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(other, bundle)
    assert refused.value.reason == "misaddressed"


def test_an_expired_bundle_is_refused(pair: Pair) -> None:
    """A bundle past its expiry is refused (the sentra's clock is a week and a day later)."""
    from datetime import timedelta

    pair.consent_to_handover()
    bundle = pair.export()
    now = pair.sentra.clock()
    pair.sentra.handover.clock = lambda: now + timedelta(days=8)
    _refused(pair, bundle, "expired")


def test_a_bundle_from_an_untrusted_vault_is_refused(pair: Pair) -> None:
    """A bundle signed by a vault the sentra does not trust under the sender's name is refused:
    here the sentra's record of the prison's keys is replaced by its own keys."""
    pair.consent_to_handover()
    bundle = pair.export()
    trust(pair.sentra, PRISON, pair.sentra)
    _refused(pair, bundle, "bad-signature")


def test_a_bundle_without_a_valid_consent_receipt_is_refused(pair: Pair) -> None:
    """A sender who seals a bundle whose receipt is not its signed receipt (or grants no
    handover to the sentra) is refused with the consent reason."""
    from vault.crypto.hpke import public_jwk_key
    from vault.handover.bundle import seal_bundle

    pair.consent_to_handover()
    envelope = json.loads(pair.export())["envelope"]
    clear = {k: v for k, v in envelope.items() if k not in ("sealed", "format")}
    clear["bundle_id"] = str(uuid.uuid4())
    signer = pair.world.services.signer.current()
    content = {
        "subject": {"records": []},
        "consent": {
            "id": clear["consent_id"],
            "purpose": "handover_kemensos",
            "categories": ["family"],
            "receipt": signer.sign_jws({"consent_id": "x"}),
        },
        "notice": {},
        "export_event_seq": 1,
    }
    forged = seal_bundle(
        clear=clear,
        recipient_public_raw=public_jwk_key(pair.sentra.handover.key.public_jwk()),
        content=content,
        kid=signer.key_id,
        sign=signer.sign,
    )
    _refused(pair, json.dumps(forged), "no-consent")


def test_a_bundle_claiming_more_than_the_consent_is_refused(pair: Pair) -> None:
    """Health records slipped into a bundle whose consent does not cover them are refused."""
    from vault.crypto.hpke import public_jwk_key
    from vault.handover.bundle import open_bundle, seal_bundle

    pair.consent_to_handover()
    bundle = pair.export()
    opened = open_bundle(
        bundle,
        sender_keys=pair.world.services.signer.verification_keys(),
        own_organization=SENTRA,
        own_key=pair.sentra.handover.key,
        now=pair.sentra.clock(),
    )
    content = dict(opened.content)
    content["subject"] = {
        "records": [*content["subject"]["records"], {"type": "health_napza", "fields": HEALTH}]
    }
    # The bundle id stays: the export's logged proof names it.
    clear = {k: v for k, v in opened.envelope.items() if k not in ("sealed", "format")}
    signer = pair.world.services.signer.current()
    forged = seal_bundle(
        clear=clear,
        recipient_public_raw=public_jwk_key(pair.sentra.handover.key.public_jwk()),
        content=content,
        kid=signer.key_id,
        sign=signer.sign,
    )
    _refused(pair, json.dumps(forged), "outside-consent")


def test_garbage_is_refused_as_malformed(pair: Pair) -> None:
    """Text that is not a bundle is refused as malformed, with nothing stored."""
    _refused(pair, "{not json", "malformed")
    _refused(pair, json.dumps({"envelope": {}, "kid": "x", "signature": ""}), "malformed")


def test_staff_of_the_sentra_off_the_care_team_read_nothing_handed_over(pair: Pair) -> None:
    """A social worker of the receiving sentra whom no officer put on the subject's care
    team is refused, though the consent names the sentra; once assigned, they read."""
    pair.world.create_record("social_worker", "family_data", FAMILY)
    pair.consent_to_handover()
    result = pair.sentra.handover.import_bundle(pair.sentra_officer, pair.export())
    subject_id = uuid.UUID(result["subject_id"])
    with pytest.raises(Forbidden):
        pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
    pair.sentra.access.assign(pair.sentra_officer, pair.sentra_worker.id, subject_id)
    case = pair.sentra.handover_notices.read_imported(pair.sentra_worker, subject_id)
    assert any(r["type"] == "family_data" for r in case["records"])
