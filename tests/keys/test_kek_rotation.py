"""KEK rotation: batches, resumption after a crash, reads during rotation, retirement."""

from __future__ import annotations

import threading
import uuid

import pytest
from keys_support import KeyEnv

from vault.crypto.providers.file import FileKeyProvider
from vault.errors import KeyUnavailable
from vault.keys.rotation import counts_by_version, plan_rotation, rotate_keks
from vault.keys.service import DekCache, SubjectKeys

SUBJECT = uuid.UUID("00000000-0000-4000-8000-000000000001")


def _subjects(env: KeyEnv, n: int) -> dict[uuid.UUID, bytes]:
    keys = {}
    with env.db.session() as session:
        for _ in range(n):
            subject = uuid.uuid4()
            keys[subject] = env.keys.subject_keys.create(session, subject).material
    return keys


def _all_readable(env: KeyEnv, keys: dict[uuid.UUID, bytes], fresh: bool = True) -> None:
    # A fresh service (no cache, own provider) proves the stored rows, not memory.
    provider = FileKeyProvider(env.settings.keys_dir)
    service = SubjectKeys(provider, DekCache(0, 0)) if fresh else env.keys.subject_keys
    with env.db.read_session() as session:
        for subject, material in keys.items():
            assert service.data_key(session, subject).material == material


def test_rotation_rewraps_every_key_under_the_new_version(env: KeyEnv) -> None:
    """rotate makes version 2 current and leaves every DEK under it, unchanged in value."""
    keys = _subjects(env, 7)
    result = rotate_keks(env.db, env.keys.keys, batch_size=3)
    assert (result.target_version, result.new_version, result.rewrapped) == (2, True, 7)
    assert counts_by_version(env.db) == {2: 7}
    _all_readable(env, keys)


def test_interrupted_rotation_resumes_without_a_new_version(env: KeyEnv) -> None:
    """A rotation killed after one batch is finished by running it again; nothing is lost."""
    keys = _subjects(env, 10)

    class Crash(Exception):
        pass

    def crash(done: int) -> None:
        raise Crash

    with pytest.raises(Crash):
        rotate_keks(env.db, env.keys.keys, batch_size=4, on_batch=crash)
    assert counts_by_version(env.db) == {1: 6, 2: 4}
    _all_readable(env, keys)  # half way: both versions still unwrap
    plan = plan_rotation(env.db, FileKeyProvider(env.settings.keys_dir))
    assert (plan.target_version, plan.new_version, plan.pending) == (2, False, 6)
    result = rotate_keks(env.db, FileKeyProvider(env.settings.keys_dir), plan=plan, batch_size=4)
    assert result.rewrapped == 6
    assert counts_by_version(env.db) == {2: 10}
    assert env.keys.keys.versions() == [1, 2]
    _all_readable(env, keys)


def test_reads_keep_working_during_rotation(env: KeyEnv) -> None:
    """A reader with its own provider, opened before rotation, reads every key throughout."""
    keys = _subjects(env, 40)
    reader = SubjectKeys(FileKeyProvider(env.settings.keys_dir), DekCache(0, 0))
    failures: list[BaseException] = []
    reads = 0
    stop = threading.Event()

    def read_loop() -> None:
        nonlocal reads
        while not stop.is_set():
            try:
                with env.db.read_session() as session:
                    for subject, material in keys.items():
                        assert reader.data_key(session, subject).material == material
                        reads += 1
            except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
                failures.append(exc)
                return

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        rotate_keks(env.db, FileKeyProvider(env.settings.keys_dir), batch_size=5)
        rotate_keks(env.db, FileKeyProvider(env.settings.keys_dir), batch_size=5)
    finally:
        stop.set()
        thread.join()
    assert not failures, failures
    assert reads >= len(keys)
    assert counts_by_version(env.db) == {3: 40}


def test_new_keys_during_rotation_get_the_current_version(env: KeyEnv) -> None:
    """A service opened before rotation wraps new subjects' keys under the new version."""
    _subjects(env, 2)
    rotate_keks(env.db, FileKeyProvider(env.settings.keys_dir))
    keys = _subjects(env, 1)
    assert counts_by_version(env.db) == {2: 3}
    _all_readable(env, keys)


def test_retired_version_cannot_unwrap_an_old_backup(env: KeyEnv) -> None:
    """After rotate and retire, a row copied before rotation no longer unwraps (clear message)."""
    from sqlalchemy import text

    subject = next(iter(_subjects(env, 1)))
    with env.db.read_session() as session:
        version, blob = session.execute(
            text("SELECT kek_version, wrapped_dek FROM subject_keys")
        ).one()
    rotate_keks(env.db, env.keys.keys)
    env.keys.keys.retire(1)
    from vault.crypto.keys import WrappedKey

    with pytest.raises(KeyUnavailable):
        env.keys.keys.unwrap(WrappedKey(version, bytes(blob)), subject)
    _all_readable(env, {subject: env_key(env, subject)})


def env_key(env: KeyEnv, subject: uuid.UUID) -> bytes:
    with env.db.read_session() as session:
        return env.keys.subject_keys.data_key(session, subject).material


def test_a_key_changed_during_its_batch_is_skipped_not_overwritten(env: KeyEnv) -> None:
    """A DEK shredded or replaced between a batch's read and its update keeps its new state."""
    if env.db.is_sqlite:
        pytest.skip("on SQLite the batch holds the write lock from its read: nothing can change")
    keys = _subjects(env, 6)
    shredded, replaced = sorted(keys)[1], sorted(keys)[4]
    provider = env.keys.keys
    plan = plan_rotation(env.db, provider)
    new_material: list[bytes] = []

    class Meddling:
        """The provider, but the first wrap lets another session change two rows first."""

        def __getattr__(self, name: str) -> object:
            return getattr(provider, name)

        def wrap(self, dek: object, subject_id: uuid.UUID, version: int | None = None) -> object:
            if not new_material:
                with env.db.session() as session:
                    env.keys.subject_keys.shred(session, shredded)
                    env.keys.subject_keys.rotate_subject(
                        session, replaced, lambda old, new: new_material.append(new.material)
                    )
            return provider.wrap(dek, subject_id, version)  # type: ignore[arg-type]  # a DataKey

    result = rotate_keks(env.db, Meddling(), plan=plan, batch_size=10)  # type: ignore[arg-type]  # a KeyProvider
    assert (result.rewrapped, result.skipped) == (4, 2)
    del keys[shredded]
    keys[replaced] = new_material[0]
    assert counts_by_version(env.db) == {2: 5}
    _all_readable(env, keys)
