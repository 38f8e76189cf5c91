"""Human names on the compliance dashboard: usernames, short subject ids, the stored verification.

An officer filters by username, or finds a subject by NIK or register number
through the blind index (the number is hashed with the vault's key and compared,
never stored, logged or put in a URL: the form is posted). Subjects are shown by
a short id the officer can open; their register number is never decrypted here,
since that would be a read of record content a compliance officer may not make.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, column, select, table

from vault.audit.canonical import decode
from vault.audit.models import EVENTS
from vault.crypto.blind_index import BlindIndex
from vault.db import Database
from vault.subjects.models import Subject
from vault.vocabulary import EventAction

__all__ = [
    "LastVerification",
    "find_subject",
    "last_verification",
    "short",
    "user_named",
    "usernames",
]

_ID = EVENTS.c.actor_id.type
USERS = table(
    "users", column("id", _ID), column("username", String()), column("organization", String())
)
IDENTIFIERS = ("nik", "register_number")
# How far back the newest stored verification result is looked for.
VERIFY_LOOKBACK = 200


def short(subject_id: object) -> str:
    """The first eight hex digits of a subject id: enough to tell subjects apart on a page."""
    return str(subject_id or "")[:8]


def usernames(db: Database, user_ids: Collection[Any]) -> dict[str, str]:
    """The username of each of ``user_ids`` that is an account (keys as strings)."""
    ids = []
    for value in user_ids:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not ids:
        return {}
    with db.read_session() as session:
        rows = session.execute(select(USERS.c.id, USERS.c.username).where(USERS.c.id.in_(ids)))
        return {str(uuid.UUID(str(i))): str(name) for i, name in rows}


def user_named(db: Database, organization: str, username: str) -> uuid.UUID | None:
    """The account of the organisation with this username (another's is as missing)."""
    with db.read_session() as session:
        found = session.execute(
            select(USERS.c.id).where(
                USERS.c.username == username.strip().lower(),
                USERS.c.organization == organization,
            )
        ).scalar_one_or_none()
    return None if found is None else uuid.UUID(str(found))


def find_subject(
    db: Database, blind_index: BlindIndex, organization: str, kind: str, value: str
) -> uuid.UUID | None:
    """The organisation's subject whose NIK or register number is ``value`` (blind index)."""
    if kind not in IDENTIFIERS or not value.strip():
        return None
    try:
        digest = blind_index.digest(kind, value)
    except ValueError:
        return None
    subjects = Subject.metadata.tables[Subject.__tablename__]
    indexed = subjects.c.nik_index if kind == "nik" else subjects.c.register_index
    with db.read_session() as session:
        found = session.execute(
            select(subjects.c.id).where(indexed == digest, subjects.c.organization == organization)
        ).first()
    return None if found is None else uuid.UUID(str(found[0]))


@dataclass(frozen=True)
class LastVerification:
    """The newest verification result recorded in the log (counts only)."""

    seq: int
    time: str
    ok: bool
    events: int | None
    first_bad_seq: int | None


def last_verification(db: Database) -> LastVerification | None:
    """The newest ``audit.verify`` event that carries a result, or None.

    The page shows this rather than re-verifying the whole chain on each load;
    a verification is run by ``vault audit verify`` or the dashboard's button.
    """
    query = (
        select(EVENTS.c.seq, EVENTS.c.canonical)
        .where(EVENTS.c.action == EventAction.AUDIT_VERIFY.value)
        .order_by(EVENTS.c.seq.desc())
        .limit(VERIFY_LOOKBACK)
    )
    with db.read_session() as session:
        rows = session.execute(query).all()
    for seq, canonical in rows:
        event = decode(bytes(canonical))
        details = event.get("details") or {}
        if "ok" in details:
            return LastVerification(
                seq=int(seq),
                time=str(event["time"]),
                ok=bool(details["ok"]),
                events=details.get("events"),
                first_bad_seq=details.get("first_bad_seq"),
            )
    return None
