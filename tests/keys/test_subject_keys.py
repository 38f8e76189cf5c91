"""SubjectKeys: creating, fetching (cached), shredding and rotating subjects' data keys."""

from __future__ import annotations

import uuid

import pytest
from keys_support import KeyEnv, canary_binding, encrypt_canary
from sqlalchemy import text

from vault.crypto.fields import FieldCipher
from vault.crypto.keys import DataKey
from vault.errors import Conflict, DecryptionFailed, NotFound
from vault.keys.service import SWEEPER, DekCache


def test_create_stores_only_the_wrapped_key(env: KeyEnv) -> None:
    """create() returns the DEK and stores it wrapped under the current KEK, never in clear."""
    subject = uuid.uuid4()
    with env.db.session() as session:
        dek = env.keys.subject_keys.create(session, subject)
    with env.db.read_session() as session:
        version, blob = session.execute(
            text("SELECT kek_version, wrapped_dek FROM subject_keys WHERE subject_id = :s"),
            {"s": subject.hex if env.db.is_sqlite else subject},
        ).one()
        assert version == 1
        assert dek.material not in bytes(blob)
        assert env.keys.subject_keys.data_key(session, subject) == dek


def test_create_twice_conflicts(env: KeyEnv) -> None:
    """A subject gets one data key; a second create is a Conflict."""
    subject = uuid.uuid4()
    with env.db.session() as session:
        env.keys.subject_keys.create(session, subject)
    with pytest.raises(Conflict), env.db.session() as session:
        env.keys.subject_keys.create(session, subject)


def test_unknown_subject_is_not_found(env: KeyEnv) -> None:
    """data_key of a subject without a key raises NotFound."""
    with pytest.raises(NotFound), env.db.read_session() as session:
        env.keys.subject_keys.data_key(session, uuid.uuid4())


def test_rolled_back_create_leaves_no_key(env: KeyEnv) -> None:
    """A create in a transaction that fails leaves no row, and the cache does not resurrect it."""
    subject = uuid.uuid4()

    def create_then_fail() -> None:
        with env.db.session() as session:
            env.keys.subject_keys.create(session, subject)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        create_then_fail()
    with pytest.raises(NotFound), env.db.read_session() as session:
        env.keys.subject_keys.data_key(session, subject)


def test_cache_spares_the_provider(env: KeyEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second fetch within the TTL does not call the key provider."""
    subject = uuid.uuid4()
    with env.db.session() as session:
        env.keys.subject_keys.create(session, subject)
    env.keys.subject_keys.cache.clear()
    calls = []
    real = env.keys.keys.unwrap
    monkeypatch.setattr(env.keys.keys, "unwrap", lambda w, s: calls.append(w) or real(w, s))
    with env.db.read_session() as session:
        first = env.keys.subject_keys.data_key(session, subject)
        second = env.keys.subject_keys.data_key(session, subject)
    assert first == second
    assert len(calls) == 1


def test_cache_is_bounded_and_expires() -> None:
    """The cache keeps at most `size` keys and drops them after `ttl` seconds."""
    now = [0.0]
    cache = DekCache(size=2, ttl=10, clock=lambda: now[0])
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for subject in (a, b, c):
        cache.put(subject, b"blob", DataKey.generate())
    assert len(cache) == 2
    assert cache.get(a, b"blob") is None
    assert cache.get(c, b"blob") is not None
    assert cache.get(c, b"other blob") is None  # the stored row changed: never served
    cache.put(b, b"blob", DataKey.generate())
    now[0] = 10.0
    assert cache.get(b, b"blob") is None


def test_expired_keys_are_swept_without_being_asked_for() -> None:
    """Expired keys leave memory by the sweep (and at the next put after a ttl), not only
    when someone looks them up again; fresh ones stay."""
    now = [0.0]
    cache = DekCache(size=100, ttl=10, clock=lambda: now[0])
    old = [uuid.uuid4() for _ in range(5)]
    for subject in old:
        cache.put(subject, b"blob", DataKey.generate())
    now[0] = 6.0
    fresh = uuid.uuid4()
    cache.put(fresh, b"blob", DataKey.generate())
    now[0] = 11.0
    assert cache.sweep() == 5
    assert len(cache) == 1
    now[0] = 30.0
    cache.put(uuid.uuid4(), b"blob", DataKey.generate())  # a put past the sweep time sweeps
    assert len(cache) == 1
    assert cache.get(fresh, b"blob") is None


def test_the_background_sweeper_empties_an_idle_cache() -> None:
    """The process-wide sweeper drops expired keys of a cache nobody touches any more."""
    now = [0.0]
    cache = DekCache(size=10, ttl=1, clock=lambda: now[0])
    SWEEPER.register(cache)
    cache.put(uuid.uuid4(), b"blob", DataKey.generate())
    now[0] = 5.0
    assert SWEEPER.sweep_all() >= 1
    assert len(cache) == 0


def test_shred_makes_fields_unreadable(env: KeyEnv) -> None:
    """After shred the key is gone (NotFound) and no other key decrypts the subject's field."""
    subject, record = uuid.uuid4(), uuid.uuid4()
    with env.db.session() as session:
        dek = env.keys.subject_keys.create(session, subject)
    ciphertext = encrypt_canary(dek, subject, record, b"HIV positive")
    with env.db.session() as session:
        env.keys.subject_keys.shred(session, subject)
    with pytest.raises(NotFound), env.db.read_session() as session:
        env.keys.subject_keys.data_key(session, subject)
    with pytest.raises(NotFound), env.db.session() as session:
        env.keys.subject_keys.shred(session, subject)
    with pytest.raises(DecryptionFailed):
        FieldCipher(DataKey.generate()).decrypt(ciphertext, canary_binding(subject, record))


def test_shred_by_another_process_is_seen_despite_the_cache(env: KeyEnv) -> None:
    """A key deleted by someone else is not served from this process's cache."""
    subject = uuid.uuid4()
    with env.db.session() as session:
        env.keys.subject_keys.create(session, subject)
    with env.db.session() as session:
        session.execute(text("DELETE FROM subject_keys"))
    with pytest.raises(NotFound), env.db.read_session() as session:
        env.keys.subject_keys.data_key(session, subject)


def test_rotate_subject_reencrypts_in_the_same_transaction(env: KeyEnv) -> None:
    """rotate_subject hands old and new keys to the callback and stores the new key."""
    subject, record = uuid.uuid4(), uuid.uuid4()
    with env.db.session() as session:
        old = env.keys.subject_keys.create(session, subject)
    stored = {"field": encrypt_canary(old, subject, record, b"secret")}
    binding = canary_binding(subject, record)

    def reencrypt(old_key: DataKey, new_key: DataKey) -> None:
        plain = FieldCipher(old_key).decrypt(stored["field"], binding)
        stored["field"] = FieldCipher(new_key).encrypt(plain, binding)

    with env.db.session() as session:
        env.keys.subject_keys.rotate_subject(session, subject, reencrypt)
    with env.db.read_session() as session:
        new = env.keys.subject_keys.data_key(session, subject)
    assert new != old
    assert FieldCipher(new).decrypt(stored["field"], binding) == b"secret"
    with pytest.raises(DecryptionFailed):
        FieldCipher(old).decrypt(stored["field"], binding)


def test_failed_reencrypt_keeps_the_old_key(env: KeyEnv) -> None:
    """If the callback fails, the transaction rolls back and the old key stays."""
    subject = uuid.uuid4()
    with env.db.session() as session:
        old = env.keys.subject_keys.create(session, subject)

    def broken(old_key: DataKey, new_key: DataKey) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError), env.db.session() as session:
        env.keys.subject_keys.rotate_subject(session, subject, broken)
    with env.db.read_session() as session:
        assert env.keys.subject_keys.data_key(session, subject) == old
