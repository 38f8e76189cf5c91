"""Columns every table carries: a UUID id and created/updated stamps in UTC.

Use ``UtcDateTime`` for every time column: SQLite forgets the zone of a stored
datetime, and comparing a naive value with an aware one raises at run time.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from vault.db import new_id, utcnow


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend; naive input is refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


def utc_field(**kwargs: Any) -> Any:
    """A time column stored as UTC (``Field`` with the right type)."""
    return Field(sa_type=UtcDateTime, **kwargs)


class Stamped(SQLModel):
    """Base of every table (not itself a table)."""

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=UtcDateTime,
        nullable=False,
        sa_column_kwargs={"onupdate": utcnow},
    )
