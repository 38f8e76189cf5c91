"""``vault.stamps``: every time column is UTC and refuses a naive datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from vault.stamps import UtcDateTime

JAKARTA = timezone(timedelta(hours=7))


def test_naive_datetime_is_refused_before_it_reaches_the_store() -> None:
    """Writing a datetime without a zone raises instead of storing an ambiguous time."""
    with pytest.raises(ValueError, match="naive"):
        UtcDateTime().process_bind_param(datetime(2026, 1, 1, 12, 0), sqlite.dialect())


def test_aware_datetime_is_stored_as_utc() -> None:
    """A local time (Jakarta) is stored as the same instant in UTC."""
    stored = UtcDateTime().process_bind_param(
        datetime(2026, 1, 1, 19, 0, tzinfo=JAKARTA), postgresql.dialect()
    )
    assert stored == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert stored is not None
    assert stored.tzinfo is UTC


def test_zone_forgotten_by_the_store_comes_back_as_utc() -> None:
    """SQLite returns naive datetimes: they are read back as UTC, comparable with aware ones."""
    read = UtcDateTime().process_result_value(datetime(2026, 1, 1, 12, 0), sqlite.dialect())
    assert read == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert read is not None
    assert read < datetime(2026, 1, 1, 12, 1, tzinfo=UTC)


def test_nulls_pass_through_both_ways() -> None:
    """A NULL column stays None on the way in and on the way out."""
    column = UtcDateTime()
    assert column.process_bind_param(None, sqlite.dialect()) is None
    assert column.process_result_value(None, sqlite.dialect()) is None
