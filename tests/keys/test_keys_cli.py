"""The `vault keys` commands: status, rotate (resumable) and retire, end to end."""

from __future__ import annotations

import uuid

import pytest

from vault.cli import main
from vault.config import Settings
from vault.db import Database
from vault.keys.wiring import ensure_provider, key_services


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The environment variables of `settings`, an initialised vault with three subjects' keys."""
    monkeypatch.setenv("VAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAULT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")
    assert main(["init"]) == 0
    db = Database(settings.database_url)
    provider, _ = ensure_provider(settings, db)
    with db.session() as session:
        for _ in range(3):
            key_services(settings, provider).subject_keys.create(session, uuid.uuid4())
    db.dispose()
    return settings


def _audited_actions(settings: Settings) -> list[str]:
    from sqlalchemy import text

    db = Database(settings.database_url)
    try:
        with db.read_session() as session:
            rows = session.execute(
                text("SELECT action FROM audit_events WHERE action LIKE 'key.%' ORDER BY seq")
            ).all()
    finally:
        db.dispose()
    return [row[0] for row in rows]


def test_status_rotate_retire(cli_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    """status counts keys; retire refuses the current version; rotate and retire work, audited."""
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert "current" in out
    assert any(line.split()[:3] == ["1", "current", "3"] for line in out.splitlines())

    assert main(["keys", "rotate", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "rotating to new KEK version 2" in out
    assert "done: 3 data keys under KEK version 2" in out

    assert main(["keys", "retire", "2"]) == 2
    assert "current" in capsys.readouterr().err

    assert main(["keys", "retire", "1"]) == 0
    assert _audited_actions(cli_env) == ["key.rotation.start", "key.rotation.done", "key.retire"]
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    lines = out.split("signing keys")[0].splitlines()
    assert any(line.split()[:3] == ["2", "current", "3"] for line in lines)
    assert not any(line.split()[:1] == ["1"] for line in lines)


def test_retire_refuses_while_keys_use_the_version(
    cli_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """retire N is refused, with the count, while any data key is still wrapped under N."""
    from vault.crypto.providers.file import FileKeyProvider
    from vault.db import Database
    from vault.keys.rotation import plan_rotation

    db = Database(cli_env.database_url)
    plan_rotation(db, FileKeyProvider(cli_env.keys_dir))  # a rotation that never rewrapped
    db.dispose()
    assert main(["keys", "retire", "1"]) == 2
    err = capsys.readouterr().err
    assert "still wraps 3 data keys" in err
    assert FileKeyProvider(cli_env.keys_dir).versions() == [1, 2]
    assert main(["keys", "rotate"]) == 0
    assert "resuming rotation to KEK version 2" in capsys.readouterr().out


def test_seal_and_index_rotation_commands(
    cli_env: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """status shows the seal and index versions; rotate-seals, retire-seals and
    rebuild-index run end to end, audited, and status then shows the new versions."""
    from vault.keys import derived_rotation

    monkeypatch.setattr(derived_rotation, "DEFAULT_TTL", 0.0)
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    assert "column-seal keys" in out
    assert "blind-index keys" in out
    assert main(["keys", "rotate-seals", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    assert "rotating to new seal key version 2" in out
    assert "under seal key version 2" in out
    assert main(["keys", "retire-seals", "2"]) == 2  # the current one
    capsys.readouterr()
    assert main(["keys", "retire-seals", "1"]) == 0
    assert main(["keys", "rebuild-index"]) == 0
    assert main(["keys", "status"]) == 0
    out = capsys.readouterr().out
    lines = [line.split() for line in out.splitlines()]
    assert ["1", "retired"] in [line[:2] for line in lines]
    assert ["2", "current"] in [line[:2] for line in lines]
    assert _audited_actions(cli_env).count("key.rotation.start") == 2
