"""``vault users`` and ``vault organizations`` from the command line."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from vault.cli import main

PASSWORD = "a password typed on stdin"


@pytest.fixture
def vault_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("VAULT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("VAULT_KEYS_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")
    assert main(["init"]) == 0
    return tmp_path


def test_first_admin_is_created_from_stdin(
    vault_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No account exists after init; the first admin comes from `vault users create`, with the
    password read from stdin and never printed."""
    from tests.conftest import make_settings
    from vault.services import build_services

    settings = make_settings(f"sqlite:///{vault_env / 'cli.db'}", vault_env)
    services = build_services(settings)
    try:
        assert services.identity.organizations() == []
    finally:
        services.close()
    assert (
        main(
            [
                "organizations",
                "create",
                "--code",
                "rutan-jakpus",
                "--name",
                "Rutan Jakarta Pusat",
                "--agency",
                "imipas",
            ]
        )
        == 0
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    args = ["users", "create", "--username", "root", "--role", "admin"]
    assert main([*args, "--organization", "rutan-jakpus"]) == 0
    out = capsys.readouterr().out
    assert "created user root (admin, rutan-jakpus)" in out
    assert PASSWORD not in out
    services = build_services(settings)
    try:
        services.identity.login("root", PASSWORD)
    finally:
        services.close()


def test_unknown_organisation_and_empty_password_are_refused(
    vault_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command exits 2 with a message for an unknown organisation or no password."""
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    args = ["users", "create", "--username", "root", "--role", "admin"]
    assert main([*args, "--organization", "lapas-nowhere"]) == 2
    assert "Unknown organisation" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main([*args, "--organization", "lapas-nowhere"]) == 2
    assert "standard input" in capsys.readouterr().err
