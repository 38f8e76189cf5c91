"""``vault.records.writing``: versions sealed under the subject's key; rotation and erasure
rewrite or delete every ciphertext, and nothing else."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from tests.world import ORG, World
from vault.errors import NotFound
from vault.records.models import Record, RecordField
from vault.records.writing import RecordWriter, rotate_subject_key
from vault.vocabulary import Principal, Role

PLAN = {"goals": "finish vocational course", "review_date": "2026-06-01"}


def _fields(world: World, subject_id: uuid.UUID) -> dict[uuid.UUID, dict[str, bytes]]:
    with world.services.db.read_session() as session:
        rows = session.execute(
            select(RecordField.record_id, RecordField.name, RecordField.ciphertext)
            .join(Record, col(Record.id) == col(RecordField.record_id))
            .where(col(Record.subject_id) == subject_id)
        ).all()
    out: dict[uuid.UUID, dict[str, bytes]] = {}
    for record_id, name, ciphertext in rows:
        out.setdefault(record_id, {})[name] = bytes(ciphertext)
    return out


def _write_plan(world: World) -> uuid.UUID:
    counselor = Principal(uuid.UUID(world.user_ids["counselor"]), Role.COUNSELOR, ORG)
    meta = world.services.records.create_record(
        counselor, uuid.UUID(world.subject_id), "rehabilitation_plan", PLAN
    )
    return meta.id


def test_each_field_is_stored_sealed_with_its_category(world: World) -> None:
    """A written record has one ciphertext per field, none holding its plaintext."""
    record_id = _write_plan(world)
    stored = _fields(world, uuid.UUID(world.subject_id))[record_id]
    assert set(stored) == set(PLAN)
    assert all(b"vocational" not in blob for blob in stored.values())
    with world.services.db.read_session() as session:
        categories = set(
            session.execute(
                select(RecordField.category).where(col(RecordField.record_id) == record_id)
            ).scalars()
        )
    assert categories == {"program"}


def test_rotation_rewrites_every_field_and_the_record_still_reads(world: World) -> None:
    """After a subject-key rotation every ciphertext changed, and a permitted read still works."""
    record_id = _write_plan(world)
    subject_id = uuid.UUID(world.subject_id)
    before = _fields(world, subject_id)
    count = rotate_subject_key(
        world.services.db, world.services.audit, world.services.subject_keys, subject_id
    )
    after = _fields(world, subject_id)
    assert count == sum(len(fields) for fields in before.values())
    for rid, fields in before.items():
        assert all(after[rid][name] != blob for name, blob in fields.items())
    read = world.read("counselor", str(record_id), "counseling")
    assert read.status_code == 200, read.text
    assert read.json()["fields"]["goals"] == PLAN["goals"]


def test_rotation_of_an_unknown_subject_is_refused(world: World) -> None:
    """There is no key to rotate for a subject that does not exist."""
    with pytest.raises(NotFound):
        rotate_subject_key(
            world.services.db, world.services.audit, world.services.subject_keys, uuid.uuid4()
        )


def test_erasure_deletes_every_ciphertext_and_keeps_the_rows(world: World) -> None:
    """Deleting a subject's fields removes every ciphertext; the record rows stay as metadata."""
    _write_plan(world)
    subject_id = uuid.UUID(world.subject_id)
    with world.services.db.session() as session:
        RecordWriter.delete_fields(session, subject_id)
    assert _fields(world, subject_id) == {}
    with world.services.db.read_session() as session:
        records = session.execute(
            select(func.count()).select_from(Record).where(col(Record.subject_id) == subject_id)
        ).scalar_one()
    assert records >= 2  # the identity record and the plan stay as metadata
