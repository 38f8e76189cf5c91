"""The database writer of THREATS.md, against break-glass and accounts: a forged lift of a
block, a review verdict rubbed out, an ended grant revived, grant rows deleted to reset
the limits: all open nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from tests.insiders.ward import Ward
from vault.access.models import BreakGlass


def _row(ward: Ward, table: Any, **where: object) -> dict[str, Any]:
    """Every column of one row, as a database writer would copy it aside."""
    with ward.services.db.read_session() as session:
        query = select(table.__table__)
        for name, value in where.items():
            query = query.where(getattr(table, name) == value)
        return dict(session.execute(query).mappings().one())


def _put_back(ward: Ward, table: Any, row: dict[str, Any]) -> None:
    """Write a copied row back over the current one, every column."""
    with ward.services.db.session() as session:
        session.execute(update(table).where(table.id == row["id"]).values(**row))


def _unjustified_grant(ward: Ward) -> str:
    grant = str(ward.open("health").json()["id"])
    reviewed = ward.review("compliance", grant)
    assert reviewed.status_code == 200, reviewed.text
    assert ward.open("health").status_code == 403
    return grant


def test_a_block_lifted_in_the_database_still_blocks(ward: Ward) -> None:
    """Setting block_lifted_at (and who lifted it) by hand does not let the person open
    another grant: only a lift the audit log records counts."""
    grant = _unjustified_grant(ward)
    ward.write_grant(grant, block_lifted_at=ward.clock(), block_lifted_by=ward.ids["compliance2"])
    refused = ward.open("health")
    assert refused.status_code == 403, refused.text
    assert ward.lift("compliance2", "health").status_code == 200
    assert ward.open("health").status_code == 201


def test_an_unjustified_verdict_rubbed_out_in_the_database_still_blocks(ward: Ward) -> None:
    """Turning the review's outcome into 'justified', or clearing it, lifts no block."""
    grant = _unjustified_grant(ward)
    ward.write_grant(grant, outcome="justified")
    assert ward.open("health").status_code == 403
    ward.write_grant(grant, outcome=None, reviewed_at=None, reviewer_id=None)
    assert ward.open("health").status_code == 403


def test_a_grant_ended_by_review_revived_in_the_database_opens_nothing(ward: Ward) -> None:
    """An unjustified grant ends at once; writing its original expiry back does not open it
    again, though the expiry is no later than the one the audit log recorded."""
    opened = ward.open("health").json()
    assert ward.emergency_read("health").status_code == 200
    assert ward.review("compliance", opened["id"]).status_code == 200
    assert ward.emergency_read("health").status_code == 404
    original = datetime.fromisoformat(opened["expires_at"].replace("Z", "+00:00"))
    ward.write_grant(opened["id"], expires_at=original)
    assert ward.emergency_read("health").status_code == 404


def test_deleting_grant_rows_does_not_reset_the_daily_cap(ward: Ward) -> None:
    """The cap counts the grants the audit log records: deleting the rows gives no more."""
    cap = ward.services.settings.break_glass_daily_cap
    for _ in range(cap):
        assert ward.open("health").status_code == 201
        ward.expire()
    with ward.services.db.session() as session:
        session.execute(delete(BreakGlass))
    refused = ward.open("health")
    assert refused.status_code == 429, refused.text


def test_deleting_the_open_grant_row_does_not_allow_a_second_one(ward: Ward) -> None:
    """One open grant per person and subject, even when its row is deleted by hand."""
    assert ward.open("health").status_code == 201
    with ward.services.db.session() as session:
        session.execute(delete(BreakGlass))
    again = ward.open("health")
    assert again.status_code == 409, again.text
