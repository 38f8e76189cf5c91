"""Column-seal and blind-index key rotation: every seal names its key version, a rotation
reseals (reindexes) everything resumably, old versions are retired, and nothing sealed
under an unknown or retired version opens."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, inspect, text

from tests.support import DEFAULT_PASSWORD, login
from tests.world import NEW_SUBJECT, World
from vault.crypto.columns import ColumnSealer, seal_version
from vault.errors import Conflict, DecryptionFailed
from vault.keys.derived_rotation import (
    SEALED_COLUMNS,
    index_counts_by_version,
    plan_index_rebuild,
    plan_seal_rotation,
    rebuild_index,
    reseal_all,
    retire_version,
    seal_counts_by_version,
)
from vault.keys.versions import INDEX, SEAL, state_of
from vault.subjects.registration import NewSubject
from vault.vocabulary import Principal, Role

SECRET = bytes(range(32))


class _Versions:
    def __init__(self, current: int, accepted: set[int]) -> None:
        self.now, self.ok = current, accepted

    def current(self) -> int:
        return self.now

    def accepted(self) -> frozenset[int]:
        return frozenset(self.ok)

    def refresh(self) -> None:
        return None


def _derive(label: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(SECRET, label.ljust(32, b"\0")[:32], strict=True))


def _refresh(world: World) -> None:
    world.services.sealer.refresh_versions()
    world.services.blind_index.refresh_versions()


def _principal(world: World, who: str) -> Principal:
    user = world.services.identity.user_by_name(who)
    return Principal(user.id, Role(user.role), user.organization)


class _Crash(Exception):
    pass


def test_a_seal_names_its_version_and_unknown_or_retired_versions_open_nothing() -> None:
    """A seal under a version never made current, or since retired, is refused, even though
    its ciphertext is genuine; the key id cannot be relabelled to another version."""
    versions = _Versions(2, {1, 2})
    sealer = ColumnSealer(derive=_derive, versions=versions)
    row = uuid.uuid4()
    sealed = sealer.seal("t", "c", row, "secret")
    assert seal_version(sealed) == 2
    assert sealer.open("t", "c", row, sealed) == "secret"
    old = sealer.seal("t", "c", row, "secret", version=1)
    assert old.startswith("v1:")
    assert sealer.open("t", "c", row, old) == "secret"
    planted = sealer.seal("t", "c", row, "secret", version=7)
    with pytest.raises(DecryptionFailed):
        sealer.open("t", "c", row, planted)  # version 7 was never made
    with pytest.raises(DecryptionFailed):
        sealer.open("t", "c", row, "v1:" + sealed[3:])  # relabelled: the v1 key fails
    assert sealer.holds("t", "c", row, old, "secret")  # and now remembered as holding
    versions.ok = {2}  # version 1 retired
    with pytest.raises(DecryptionFailed):
        sealer.open("t", "c", row, old)
    assert not sealer.holds("t", "c", row, old, "secret")


def test_rotate_seals_reseals_every_column_and_retires_the_old_version(world: World) -> None:
    """After a rotation every sealed value is under the new version, logins, sessions and
    receipts still work, version 1 is retired, and a version-1 seal copied back from a
    backup stops an account from acting."""
    with world.services.db.read_session() as session:
        backup_seal = session.execute(
            text("SELECT authz_seal FROM users WHERE username = 'counselor'")
        ).scalar_one()
    before = seal_counts_by_version(world.services.db)
    assert set(before) == {1}
    plan = plan_seal_rotation(world.services.db)
    assert plan.new_version
    assert plan.target_version == 2
    result = reseal_all(world.services.db, world.services.sealer, settle=lambda: _refresh(world))
    assert result.done == sum(before.values())
    assert seal_counts_by_version(world.services.db) == {2: sum(before.values())}
    receipt = world.client.get(
        f"/v1/consents/{world.consent_id}/receipt", headers=world.auth("officer")
    )
    assert receipt.status_code == 200, receipt.text
    with pytest.raises(Conflict):
        retire_version(world.services.db, SEAL, 2)  # the current one
    retire_version(world.services.db, SEAL, 1)
    _refresh(world)
    assert login(world.client, "counselor")  # resealed account seal opens
    with world.services.db.session() as session:
        session.execute(
            text("UPDATE users SET authz_seal = :s WHERE username = 'counselor'"),
            {"s": backup_seal},
        )
    refused = world.client.post(
        "/v1/auth/login", json={"username": "counselor", "password": DEFAULT_PASSWORD}
    )
    assert refused.status_code in (401, 403)


def test_a_seal_rotation_that_crashes_midway_resumes(world: World) -> None:
    """A rotation stopped after one batch is finished by the next run, under the same
    version, and every value opens to what it was."""
    db = world.services.db
    total = sum(seal_counts_by_version(db).values())
    plan = plan_seal_rotation(db)

    def crash(done: int) -> None:
        raise _Crash

    with pytest.raises(_Crash):
        reseal_all(
            db,
            world.services.sealer,
            plan=plan,
            batch_size=1,
            on_batch=crash,
            settle=lambda: _refresh(world),
        )
    counts = seal_counts_by_version(db)
    assert counts[plan.target_version] == 1
    again = plan_seal_rotation(db)
    assert not again.new_version
    assert again.target_version == plan.target_version
    assert again.pending == total - 1
    reseal_all(db, world.services.sealer, plan=again, batch_size=2, settle=lambda: _refresh(world))
    assert seal_counts_by_version(db) == {plan.target_version: total}
    assert state_of(db, SEAL).current == plan.target_version


def test_no_column_is_left_under_the_old_seal_version(world: World) -> None:
    """After a rotation no text column of any table holds a version-1 seal: every sealed
    column the code writes is one the rotation knows (SEALED_COLUMNS)."""
    db = world.services.db
    world.client.post("/v1/me/totp", headers=world.auth("counselor"))
    world.client.post(
        f"/v1/subjects/{world.subject_id}/break-glass",
        json={"justification": "unconscious on arrival, needs the history"},
        headers=world.auth("counselor"),
    )
    reseal_all(db, world.services.sealer, settle=lambda: _refresh(world))
    inspector = inspect(db.engine)
    left = []
    with db.read_session() as session:
        for table_name in inspector.get_table_names():
            for info in inspector.get_columns(table_name):
                if not isinstance(info["type"], String):
                    continue
                name = info["name"]
                count = session.execute(
                    text(
                        f'SELECT count(*) FROM "{table_name}" WHERE "{name}" LIKE :p'
                    ),  # names from the schema
                    {"p": "v1:%"},
                ).scalar_one()
                if count:
                    left.append(f"{table_name}.{name}")
    assert left == []
    assert {(c.table, c.stored) for c in SEALED_COLUMNS} >= {("users", "totp_secret")}


def _register(world: World, nik: str, register: str) -> uuid.UUID:
    return world.services.subjects.register(
        _principal(world, "officer"),
        NewSubject(
            full_name="Siti (test)",
            nik=nik,
            register_number=register,
            date_of_birth=world.services.clock().date().replace(year=1985),
            organization=_principal(world, "officer").organization,
        ),
    )


def test_rebuild_index_keeps_search_working_and_resumes(world: World) -> None:
    """A rebuild stopped half way leaves subjects under both versions and search finds each;
    the resumed rebuild moves all to the new version, retires the old one, and search and
    the duplicate check still work."""
    db = world.services.db
    officer = _principal(world, "officer")
    second = _register(world, "3171019999000001", "BX 1/2026")
    plan = plan_index_rebuild(db)
    assert plan.new_version
    identity = world.services.records.identity_fields

    def crash(done: int) -> None:
        raise _Crash

    with pytest.raises(_Crash):
        rebuild_index(
            db,
            world.services.blind_index,
            identity,
            plan=plan,
            batch_size=1,
            on_batch=crash,
            settle=lambda: _refresh(world),
        )
    assert sorted(index_counts_by_version(db)) == [1, plan.target_version]
    find = world.services.subjects.find
    assert find(officer, nik=NEW_SUBJECT["nik"], register_number=None) == [
        uuid.UUID(world.subject_id)
    ]
    assert find(officer, nik="3171019999000001", register_number=None) == [second]
    assert find(officer, nik=None, register_number="bx 1/2026") == [second]
    with pytest.raises(Conflict):
        _register(world, "3171019999000001", "OTHER 1")  # the old-version row still counts
    rebuild_index(db, world.services.blind_index, identity, settle=lambda: _refresh(world))
    assert set(index_counts_by_version(db)) == {plan.target_version}
    _refresh(world)
    assert [v.state for v in state_of(db, INDEX).versions if v.version == 1] == ["retired"]
    assert find(officer, nik=NEW_SUBJECT["nik"], register_number=None) == [
        uuid.UUID(world.subject_id)
    ]
    assert find(officer, nik=None, register_number="BX 1/2026") == [second]
    with pytest.raises(Conflict):
        _register(world, "3171019999000001", "OTHER 2")
    third = _register(world, "3171019999000002", "BX 2/2026")
    assert find(officer, nik="3171019999000002", register_number=None) == [third]
