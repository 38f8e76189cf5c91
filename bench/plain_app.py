"""The baselines of the full-stack read: plain endpoints, no protection at all.

Both read the same record's fields, stored unencrypted in one row, through the
same ``Database`` (engine, pragmas) as the vault; no token, no decision, no
consent, no audit, no decryption. Served by the same server with the same
settings.

- ``/plain/{id}``: the endpoint as one writes it with Litestar + SQLModel (a
  sync handler in a worker thread, ``Session.get``). The issue's baseline.
- ``/plain-async/{id}``: the same read in the vault's own execution model (a
  coroutine, the prebuilt statement on the bare cursor, no thread hop), so the
  ratio against it is the price of the protections alone, not of a slower or
  faster way of serving.
"""

import os
import uuid
from typing import Any

from litestar import Litestar, get
from sqlalchemy import bindparam, select
from sqlmodel import Field, SQLModel, col

from vault.db import Database

DATABASE_ENV = "BENCH_PLAIN_DATABASE_URL"


class PlainRecord(SQLModel, table=True):
    __tablename__ = "plain_records"

    id: uuid.UUID = Field(primary_key=True)
    subject_id: uuid.UUID = Field(index=True)
    record_type: str
    instrument: str
    summary: str
    observations: str
    risk_level: str
    recommendations: str


def _answer(row: Any) -> dict[str, Any]:
    """The same JSON shape as the vault's answer (a PlainRecord or a cursor row)."""
    if row is None:
        return {}
    return {
        "id": str(row.id),
        "type": row.record_type,
        "fields": {
            "instrument": row.instrument,
            "summary": row.summary,
            "observations": row.observations,
            "risk_level": row.risk_level,
            "recommendations": row.recommendations,
        },
        "withheld": {},
    }


def create_plain_app() -> Litestar:
    db = Database(os.environ[DATABASE_ENV])

    @get("/plain/{record_id:uuid}", sync_to_thread=True)
    def read_plain(record_id: uuid.UUID) -> dict[str, Any]:
        with db.read_session() as session:
            row = session.get(PlainRecord, record_id)
            return _answer(row)

    by_id = select(
        col(PlainRecord.id),
        col(PlainRecord.record_type),
        col(PlainRecord.instrument),
        col(PlainRecord.summary),
        col(PlainRecord.observations),
        col(PlainRecord.risk_level),
        col(PlainRecord.recommendations),
    ).where(col(PlainRecord.id) == bindparam("record_id"))

    @get("/plain-async/{record_id:uuid}")
    async def read_plain_async(record_id: uuid.UUID) -> dict[str, Any]:
        with db.read_cursor() as reads:
            row = reads.execute(by_id, {"record_id": record_id}).first()
        return _answer(row)

    return Litestar(
        route_handlers=[read_plain, read_plain_async], on_shutdown=[db.dispose], debug=False
    )
