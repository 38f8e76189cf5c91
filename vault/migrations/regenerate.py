"""Regenerate the initial migration from the table models.

Only for the time before the first release, while the schema is still one
migration: after a release, add a new revision with ``alembic revision
--autogenerate`` instead, so deployed databases can follow.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from vault.db import MIGRATIONS_DIR, Database, alembic_config


def main() -> None:
    versions = MIGRATIONS_DIR / "versions"
    for old in versions.glob("*_initial.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{Path(tmp) / 'empty.db'}")
        command.revision(
            alembic_config(db),
            message="initial",
            autogenerate=True,
            rev_id="0001",
        )
        db.dispose()
    print(f"wrote {next(versions.glob('*_initial.py'))}")


if __name__ == "__main__":
    main()
