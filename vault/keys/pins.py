"""The ``key_pins`` table: what the store expects of its key provider.

Read at every start (``vault.keys.wiring.check_pins``) and by every new wrap
(the pinned KEK version, not the provider's idea of "current", decides which
version wraps: a key planted in a token never becomes current).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, inspect, select, update

from vault.db import utcnow
from vault.keys.models import KeyPin

PROVIDER_FINGERPRINT = "provider_fingerprint"
KEK_CURRENT = "kek_current"
KEK_ROTATING = "kek_rotating"

_table = KeyPin.__table__  # type: ignore[attr-defined]  # SQLModel sets it on table models
_GET = select(_table.c.value).where(_table.c.name == bindparam("name"))


def get_pin(session: Any, name: str) -> str | None:
    """The pin's value (``session``: a Session, a Connection or cursor reads)."""
    row = session.execute(_GET, {"name": name}).first()
    return None if row is None else str(row[0])


def set_pin(session: Any, name: str, value: str) -> None:
    now = utcnow()
    result = session.execute(
        update(_table).where(_table.c.name == name).values(value=value, updated_at=now)
    )
    if result.rowcount == 0:
        from vault.db import new_id

        session.execute(
            insert(_table).values(
                id=new_id(), name=name, value=value, created_at=now, updated_at=now
            )
        )


def drop_pin(session: Any, name: str) -> None:
    session.execute(delete(_table).where(_table.c.name == name))


def pins_table_exists(conn: Connection) -> bool:
    return bool(inspect(conn).has_table(KeyPin.__tablename__))


def pinned_kek(session: Any) -> int | None:
    value = get_pin(session, KEK_CURRENT)
    return None if value is None else int(value)
