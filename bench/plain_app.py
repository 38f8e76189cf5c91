"""The baseline of the full-stack read: a plain Litestar + SQLModel endpoint.

It reads the same record's fields, stored unencrypted in one row, through the
same ``Database`` (engine, pragmas, read sessions) and the same kind of
handler (sync, in a thread) as the vault; no token, no decision, no consent,
no audit, no decryption. Served by the same server with the same settings.
"""

import os
import uuid
from typing import Any

from litestar import Litestar, get
from sqlmodel import Field, SQLModel

from vault.db import Database

DATABASE_ENV = "BENCH_PLAIN_DATABASE_URL"


class PlainRecord(SQLModel, table=True):
    __tablename__ = "plain_records"

    id: uuid.UUID = Field(primary_key=True)
    subject_id: uuid.UUID = Field(index=True)
    record_type: str
    instrument: str
    summary: str
    risk_level: str
    recommendations: str


def create_plain_app() -> Litestar:
    db = Database(os.environ[DATABASE_ENV])

    @get("/plain/{record_id:uuid}", sync_to_thread=True)
    def read_plain(record_id: uuid.UUID) -> dict[str, Any]:
        with db.read_session() as session:
            row = session.get(PlainRecord, record_id)
            if row is None:
                return {}
            return {
                "id": str(row.id),
                "type": row.record_type,
                "fields": {
                    "instrument": row.instrument,
                    "summary": row.summary,
                    "risk_level": row.risk_level,
                    "recommendations": row.recommendations,
                },
                "withheld": {},
            }

    return Litestar(route_handlers=[read_plain], on_shutdown=[db.dispose], debug=False)
