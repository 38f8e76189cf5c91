"""Alembic environment: runs against the engine the vault hands it."""

from alembic import context
from sqlalchemy import Engine
from sqlmodel import SQLModel

import vault.tables  # noqa: F401  (registers every table on the metadata)

config = context.config
engine: Engine = config.attributes["engine"]

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
