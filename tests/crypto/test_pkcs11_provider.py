"""The pkcs11 key provider against SoftHSM2: non-extractable KEKs, wrapping inside the token."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vault.config import Settings, load_settings
from vault.crypto.blind_index import BlindIndex
from vault.crypto.keys import DataKey, WrappedKey
from vault.crypto.providers.base import KeyProvider
from vault.errors import ConfigurationError, KeyUnavailable

MODULE_CANDIDATES = [
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
]
TOKENS = [f"vault-test-{n}" for n in range(14)]
PIN = "1234"

SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _module() -> str | None:
    return next((path for path in MODULE_CANDIDATES if os.path.exists(path)), None)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("VAULT_REQUIRE_SOFTHSM") == "1":
        pytest.fail(f"VAULT_REQUIRE_SOFTHSM=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SoftHSM2 configuration in a temporary folder with fresh tokens (the module path)."""
    module = _module()
    if module is None or shutil.which("softhsm2-util") is None:
        _skip_or_fail("SoftHSM2 is not installed (apt-get install softhsm2)")
    pytest.importorskip("pkcs11", reason="python-pkcs11 is not installed")
    assert module is not None
    base = tmp_path_factory.mktemp("softhsm")
    (base / "tokens").mkdir()
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
    previous = os.environ.get("SOFTHSM2_CONF")
    # The library reads this when first loaded, so it is set before any test opens it.
    os.environ["SOFTHSM2_CONF"] = str(conf)
    for label in TOKENS:
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label,
             "--pin", PIN, "--so-pin", "5678"],
            check=True, capture_output=True,
        )  # fmt: skip
    yield module
    if previous is None:
        os.environ.pop("SOFTHSM2_CONF", None)
    else:
        os.environ["SOFTHSM2_CONF"] = previous


@pytest.fixture
def token_settings(softhsm: str, tmp_path: Path) -> Settings:
    """Settings naming one fresh token of its own."""
    label = TOKENS[_next_token()]
    return load_settings(
        database_url=f"sqlite:///{tmp_path / 'vault.db'}",
        keys_dir=tmp_path / "keys",
        key_provider="pkcs11",
        pkcs11_module=softhsm,
        pkcs11_token_label=label,
        pkcs11_pin=PIN,
        testing=True,
        argon2_profile="cheapest",
    )


_used = iter(range(len(TOKENS)))


def _next_token() -> int:
    try:
        return next(_used)
    except StopIteration:
        pytest.fail("add more tokens to TOKENS: each test needs a fresh one")
        raise


def _provider(settings: Settings) -> KeyProvider:
    from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

    provider, created = Pkcs11KeyProvider.ensure(settings, may_create=True)
    assert created
    return provider


def test_wraps_inside_the_token_and_round_trips(token_settings: Settings) -> None:
    """A DEK wrapped by the token unwraps to the same key; the blob does not contain it."""
    provider = _provider(token_settings)
    try:
        dek = DataKey.generate()
        wrapped = provider.wrap(dek, SUBJECT)
        assert wrapped.kek_version == 1
        assert dek.material not in wrapped.blob
        assert len(wrapped.blob) == 73  # 0x03 || RFC 5649 output (40) || key check (32)
        assert provider.unwrap(wrapped, SUBJECT) == dek
    finally:
        provider.close()


def test_kek_is_not_extractable(token_settings: Settings) -> None:
    """The KEK object in the token is sensitive and refuses to reveal its value."""
    import pkcs11
    from pkcs11 import Attribute

    provider = _provider(token_settings)
    try:
        kek = provider._keks[1]  # type: ignore[attr-defined]  # inspecting the token object
        assert kek[Attribute.EXTRACTABLE] is False
        assert kek[Attribute.SENSITIVE] is True
        with pytest.raises(pkcs11.exceptions.PKCS11Error):
            kek[Attribute.VALUE]
    finally:
        provider.close()


def test_versions_rotate_and_retire(token_settings: Settings) -> None:
    """A new version becomes current; old wraps still unwrap until retired; then a clear error."""
    provider = _provider(token_settings)
    try:
        old = provider.wrap(dek := DataKey.generate(), SUBJECT)
        assert provider.new_version() == 2
        assert provider.current_version() == 2
        assert provider.wrap(dek, SUBJECT).kek_version == 2
        assert provider.unwrap(old, SUBJECT) == dek
        with pytest.raises(ConfigurationError, match="current"):
            provider.retire(2)
        provider.retire(1)
        assert provider.versions() == [2]
        with pytest.raises(KeyUnavailable):
            provider.unwrap(old, SUBJECT)
    finally:
        provider.close()


def test_tampered_or_foreign_blob_fails_with_an_operator_message(token_settings: Settings) -> None:
    """A changed wrapped key does not unwrap; the error names the version, not the key."""
    provider = _provider(token_settings)
    try:
        wrapped = provider.wrap(DataKey.generate(), SUBJECT)
        broken = WrappedKey(1, bytes((wrapped.blob[0] ^ 1,)) + wrapped.blob[1:])
        with pytest.raises(KeyUnavailable):
            provider.unwrap(broken, SUBJECT)
    finally:
        provider.close()


def test_derived_secrets_come_from_the_token_root(token_settings: Settings) -> None:
    """Blind-index keys derive in the token: stable across sessions, distinct per field."""
    from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

    provider = _provider(token_settings)
    try:
        index = BlindIndex(provider.derive_secret)
        digest = index.digest("nik", "3171 0123 4567 8901")
        assert digest != index.digest("register_number", "3171 0123 4567 8901")
    finally:
        provider.close()
    again = Pkcs11KeyProvider.from_settings(token_settings)
    try:
        assert BlindIndex(again.derive_secret).digest("nik", "3171012345678901") == digest
    finally:
        again.close()


def test_empty_token_with_wrapped_keys_refuses(token_settings: Settings) -> None:
    """A token without KEKs is never filled with new ones when the store already has DEKs."""
    from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

    with pytest.raises(ConfigurationError, match="wrong token"):
        Pkcs11KeyProvider.ensure(token_settings, may_create=False)
    with pytest.raises(ConfigurationError, match="vault init"):
        Pkcs11KeyProvider.from_settings(token_settings)


def test_init_rotation_and_subject_keys_over_the_token(token_settings: Settings) -> None:
    """vault init, subject keys and a full KEK rotation work with the token as provider."""
    import uuid

    from vault.bootstrap import initialise
    from vault.db import Database
    from vault.keys.rotation import counts_by_version, rotate_keks
    from vault.keys.service import DekCache, SubjectKeys
    from vault.keys.wiring import ensure_provider

    report = initialise(token_settings)
    assert any("created in PKCS#11 token" in line for line in report)
    db = Database(token_settings.database_url)
    provider, _ = ensure_provider(token_settings, db)
    try:
        keys = SubjectKeys(provider, DekCache(0, 0))
        subjects = {}
        with db.session() as session:
            for _ in range(5):
                subjects[subject] = keys.create(session, subject := uuid.uuid4())
        rotate_keks(db, provider, batch_size=2)
        assert counts_by_version(db) == {2: 5}
        with db.read_session() as session:
            for subject, dek in subjects.items():
                assert keys.data_key(session, subject) == dek
    finally:
        provider.close()
        db.dispose()


def _session(settings: Settings) -> object:
    import pkcs11

    lib = pkcs11.lib(str(settings.pkcs11_module))
    token = lib.get_token(token_label=settings.pkcs11_token_label)
    return token.open(user_pin=PIN, rw=True)


def test_planted_higher_kek_never_becomes_current(token_settings: Settings) -> None:
    """A `vault-kek-v999` planted in the token is not used for wraps and stops the vault's start."""
    import pkcs11
    from pkcs11 import Attribute, KeyType

    from vault.db import Database
    from vault.keys.service import DekCache, SubjectKeys
    from vault.keys.wiring import ensure_provider

    db = Database(token_settings.database_url)
    db.migrate()
    provider, _ = ensure_provider(token_settings, db)
    keys = SubjectKeys(provider, DekCache(0, 0))
    if True:
        session = provider._session  # type: ignore[attr-defined]  # the process's one login
        session.generate_key(
            KeyType.AES, 256, label="vault-kek-v999", store=True,
            template={Attribute.EXTRACTABLE: False, Attribute.SENSITIVE: True},
        )  # fmt: skip
    try:
        with db.session() as session:
            keys.create(session, uuid.uuid4())
        with db.read_session() as session:
            assert keys.wrap_version(session) == 1
        assert {int(v) for v in _versions(db)} == {1}
    finally:
        provider.close()
    with pytest.raises(ConfigurationError, match="pinned version 1"):
        ensure_provider(token_settings, db)
    db.dispose()
    assert pkcs11  # the module was importable


def _versions(db: object) -> list[int]:
    from vault.keys.rotation import counts_by_version

    return list(counts_by_version(db))  # type: ignore[arg-type]


def test_duplicate_or_extractable_kek_is_refused(token_settings: Settings) -> None:
    """A second `vault-kek-v1`, or a KEK imported in clear, makes the provider refuse the token."""
    from pkcs11 import Attribute, KeyType, ObjectClass

    from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

    _provider(token_settings).close()
    with _session(token_settings) as session:  # type: ignore[attr-defined]
        session.create_object({
            Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
            Attribute.VALUE: b"\x01" * 32, Attribute.LABEL: "vault-kek-v1", Attribute.TOKEN: True,
            Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False,
        })  # fmt: skip
    with pytest.raises(ConfigurationError, match="two keys labelled"):
        Pkcs11KeyProvider.from_settings(token_settings)


def test_imported_kek_is_refused(token_settings: Settings) -> None:
    """A KEK whose bytes were imported (not CKA_LOCAL, not NEVER_EXTRACTABLE) is refused."""
    from pkcs11 import Attribute, KeyType, ObjectClass

    from vault.crypto.providers.pkcs11 import Pkcs11KeyProvider

    _provider(token_settings).close()
    with _session(token_settings) as session:  # type: ignore[attr-defined]
        session.create_object({
            Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.KEY_TYPE: KeyType.AES,
            Attribute.VALUE: b"\x02" * 32, Attribute.LABEL: "vault-kek-v2", Attribute.TOKEN: True,
            Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.WRAP: True,
        })  # fmt: skip
    with pytest.raises(ConfigurationError, match="outside the token"):
        Pkcs11KeyProvider.from_settings(token_settings)


def test_signing_key_lives_in_the_token_and_rotates(token_settings: Settings) -> None:
    """With CKM_EDDSA the signing key is made in the token; rotation keeps old receipts valid."""
    from datetime import UTC, datetime

    from vault.crypto.signing import verify_jws
    from vault.crypto.signing_keys import CurrentSigner

    provider = _provider(token_settings)
    try:
        assert provider.eddsa_in_token()  # type: ignore[attr-defined]
        signer = CurrentSigner(provider)
        token = signer.sign_jws({"iat": datetime.now(UTC).isoformat()})
        from pkcs11 import Attribute, ObjectClass

        session = provider._session  # type: ignore[attr-defined]  # the process's one login
        if True:
            keys = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
            assert [k.label for k in keys] == ["vault-sign-v1"]
            assert keys[0][Attribute.EXTRACTABLE] is False
        provider.new_signing_key(datetime.now(UTC))
        assert verify_jws(token, signer.jwks()["keys"])
        assert verify_jws(signer.sign_jws({"a": 1}), signer.jwks()["keys"]) == {"a": 1}
        old_kid = provider.signing_registry().records[0].kid
        provider.set_signing_registry(lambda r: r.revoked(old_kid, datetime.now(UTC)))
        private = session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY})
        labels = [k.label for k in private]
        assert labels == ["vault-sign-v2"]  # the revoked key is destroyed in the token
    finally:
        provider.close()


def test_swapped_rows_fail_the_token_key_check(token_settings: Settings) -> None:
    """A wrapped key moved to another subject fails the in-token key check."""
    provider = _provider(token_settings)
    try:
        a, b = uuid.uuid4(), uuid.uuid4()
        wrapped = provider.wrap(DataKey.generate(), a)
        with pytest.raises(KeyUnavailable):
            provider.unwrap(wrapped, b)
    finally:
        provider.close()
