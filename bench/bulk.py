"""Fast bulk inserts for synthetic data: executemany on SQLite, COPY on PostgreSQL.

Values go through each column's own SQLAlchemy bind processor on SQLite (so
UUIDs and times are stored exactly as the ORM stores them); psycopg adapts
them natively for COPY.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Engine, Table


def bulk_insert(engine: Engine, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    columns = [c.name for c in table.c]
    count = 0
    if engine.dialect.name == "sqlite":
        processors = [c.type._cached_bind_processor(engine.dialect) for c in table.c]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        batch: list[tuple[Any, ...]] = []
        with engine.begin() as conn:
            for row in rows:
                batch.append(
                    tuple(
                        p(row[name]) if p is not None and row[name] is not None else row[name]
                        for name, p in zip(columns, processors, strict=True)
                    )
                )
                if len(batch) >= 10_000:
                    conn.exec_driver_sql(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                conn.exec_driver_sql(sql, batch)
                count += len(batch)
        return count
    raw = engine.raw_connection()
    try:
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        driver: Any = raw.driver_connection  # the psycopg connection, for its COPY support
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row[name] for name in columns])
                count += 1
        raw.commit()
    finally:
        raw.close()
    return count
