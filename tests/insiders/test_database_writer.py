"""The database writer of THREATS.md, against break-glass and accounts: a forged lift of a
block, a review verdict rubbed out, an ended grant revived, grant rows deleted to reset
the limits, and a whole earlier version of an account copied back, all open nothing."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from tests.insiders.ward import Ward
from tests.support import DEFAULT_PASSWORD
from vault.access.models import BreakGlass
from vault.identity import totp
from vault.identity.models import AuthToken, User
from vault.identity.tokens import token_digest


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


def test_an_account_copied_back_from_before_it_was_disabled_stays_refused(ward: Ward) -> None:
    """The whole row of an account, and of its token, copied back from before the account
    was disabled: its seal is genuine, but the audit log knows a later version; refused."""
    headers = ward.headers["health"]
    user_id = ward.ids["health"]
    before = _row(ward, User, id=user_id)
    tokens = [_row(ward, AuthToken, id=token_id) for token_id in _token_ids(ward, user_id)]
    ward.services.identity.disable_user(user_id)
    assert ward.client.get("/v1/me", headers=headers).status_code == 401
    _put_back(ward, User, before)
    for token in tokens:
        _put_back(ward, AuthToken, token)
    assert ward.client.get("/v1/me", headers=headers).status_code == 401
    credentials = {"username": "health", "password": DEFAULT_PASSWORD}
    assert ward.client.post("/v1/auth/login", json=credentials).status_code == 401
    assert ward.open("health").status_code == 401


def test_an_account_copied_back_from_before_its_second_factor_needs_it_still(
    ward: Ward,
) -> None:
    """Copying back the row from before the second factor was enrolled does not let the
    password alone log in."""
    user_id = ward.ids["compliance"]
    before = _row(ward, User, id=user_id)
    enrolment = ward.services.identity.start_totp(user_id)
    ward.services.identity.confirm_totp(user_id, totp.code_at(enrolment.secret, ward.clock()))
    credentials = {"username": "compliance", "password": DEFAULT_PASSWORD}
    assert ward.client.post("/v1/auth/login", json=credentials).status_code == 401
    _put_back(ward, User, before)
    assert ward.client.post("/v1/auth/login", json=credentials).status_code == 401
    assert ward.client.get("/v1/me", headers=ward.headers["compliance"]).status_code == 401


def _token_ids(ward: Ward, user_id: uuid.UUID) -> list[uuid.UUID]:
    with ward.services.db.read_session() as session:
        return list(
            session.execute(select(AuthToken.id).where(AuthToken.user_id == user_id)).scalars()
        )


def test_a_token_revoked_at_logout_and_revived_in_the_database_stays_refused(
    ward: Ward,
) -> None:
    """Logging out revokes the token; clearing revoked_at, or copying the token's row back
    from before the logout, does not make it work again (the logout is in the audit log)."""
    headers = ward.headers["health"]
    token_ids = _token_ids(ward, ward.ids["health"])
    before = [_row(ward, AuthToken, id=token_id) for token_id in token_ids]
    assert ward.client.post("/v1/auth/logout", headers=headers).status_code in (200, 204)
    assert ward.client.get("/v1/me", headers=headers).status_code == 401
    for token in before:
        _put_back(ward, AuthToken, token)
    assert ward.client.get("/v1/me", headers=headers).status_code == 401
    assert ward.open("health").status_code == 401


def test_a_token_written_into_the_database_opens_nothing(ward: Ward) -> None:
    """A token row inserted by hand for someone else's account, with the digest of a value
    the writer chose, and a real token's expiry pushed out, are both refused."""
    chosen = "a-token-value-the-database-writer-chose-0123456789"
    with ward.services.db.session() as session:
        session.add(
            AuthToken(
                user_id=ward.ids["compliance"],
                token_hash=token_digest(chosen),
                expires_at=ward.clock() + timedelta(days=365),
            )
        )
    forged = {"Authorization": f"Bearer {chosen}"}
    assert ward.client.get("/v1/me", headers=forged).status_code == 401
    assert ward.client.get("/v1/break-glass", headers=forged).status_code == 401
    extended = ward.headers["health"]
    with ward.services.db.session() as session:
        session.execute(
            update(AuthToken)
            .where(AuthToken.user_id == ward.ids["health"])
            .values(expires_at=ward.clock() + timedelta(days=365))
        )
    assert ward.client.get("/v1/me", headers=extended).status_code == 401
