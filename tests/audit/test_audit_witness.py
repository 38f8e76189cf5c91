"""`vault witness`: cosigns while the audit log grows; refuses the same log rewritten."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from vault.audit.tree import CursorNodeStore, NodeStatements
from vault.cli import main
from vault.config import Settings
from vault.services import build_services
from vault.transparency import consistency_proof, render_add_checkpoint


@pytest.fixture
def vault_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads settings from VAULT_* variables: point them at a store with events."""
    monkeypatch.setenv("VAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAULT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")
    # Signed two hours ago: witnesses' time (an hour by default) is up for these heads.
    services = build_services(
        settings, migrate=True, clock=lambda: datetime.now(UTC) - timedelta(hours=2)
    )
    try:
        for n in range(5):
            services.audit.append(sample_event(n))
    finally:
        services.close()
    return settings


def _append(settings: Settings, count: int, offset: int = 0) -> None:
    services = build_services(settings)
    try:
        for n in range(count):
            services.audit.append(sample_event(n + offset))
    finally:
        services.close()


def _request(tmp_path: Path, old_size: int, capsys: pytest.CaptureFixture[str]) -> Path:
    capsys.readouterr()
    assert main(["witness", "request", "--old-size", str(old_size)]) == 0
    path = tmp_path / f"request-{old_size}.txt"
    path.write_text(capsys.readouterr().out, encoding="utf-8")
    return path


def _log_vkey(capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    assert main(["audit", "prove", "1"]) == 0
    vkey: str = json.loads(capsys.readouterr().out)["log_key"]
    return vkey


def test_two_witnesses_cosign_growth_and_refuse_a_rewritten_log(
    vault_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each witness cosigns the first head and a grown one; after a rewrite both refuse."""
    vkey = _log_vkey(capsys)
    states = [tmp_path / "bapas.json", tmp_path / "ombudsman.json"]
    for name, state in zip(("bapas.example/witness", "ombudsman.example/w"), states, strict=True):
        assert main(["witness", "init", str(state), "--name", name, "--log", vkey]) == 0
    first = _request(tmp_path, 0, capsys)
    for state in states:
        assert main(["witness", "cosign", str(state), str(first)]) == 0
        assert capsys.readouterr().out.startswith("\u2014 ")
    size = json.loads(states[0].read_text())["latest"]["vault.local/audit"][0]
    _append(vault_env, 4)
    grown = _request(tmp_path, size, capsys)
    for state in states:
        assert main(["witness", "cosign", str(state), str(first)]) == 1  # replay: stale
        assert main(["witness", "cosign", str(state), str(grown)]) == 0
    size = json.loads(states[0].read_text())["latest"]["vault.local/audit"][0]
    # A database writer replaces the whole log (events, tree, heads) with another history.
    services = build_services(vault_env)
    with services.db.engine.begin() as conn:
        for table in ("audit_nodes", "audit_heads", "audit_checkpoints", "audit_events"):
            conn.execute(text(f"DELETE FROM {table}"))
    services.close()
    _append(vault_env, size + 3, offset=100)
    forged_head = _request(tmp_path, 0, capsys).read_text(encoding="utf-8").split("\n\n", 1)[1]
    services = build_services(vault_env)
    try:
        with services.audit.engine.connect() as conn:
            store = CursorNodeStore(conn.connection.cursor(), NodeStatements(conn.dialect))
            new_size = int(forged_head.split("\n")[1])
            proof = consistency_proof(store, size, new_size)
    finally:
        services.close()
    forged = tmp_path / "forged.txt"
    forged.write_text(render_add_checkpoint(size, proof, forged_head), encoding="utf-8")
    for state in states:
        capsys.readouterr()
        assert main(["witness", "cosign", str(state), str(forged)]) == 1
        assert "refused" in capsys.readouterr().err
        assert json.loads(state.read_text())["latest"]["vault.local/audit"][0] == size


def test_verify_says_when_no_cosignature_arrived_in_time(
    vault_env: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With a quorum of one, an overdue head fails verify until a witness's cosignature is in."""
    vkey = _log_vkey(capsys)
    state = tmp_path / "bapas.json"
    assert main(["witness", "init", str(state), "--name", "bapas.example/w", "--log", vkey]) == 0
    witness_vkey = capsys.readouterr().out.strip()
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_KEYS", json.dumps([witness_vkey]))
    monkeypatch.setenv("VAULT_AUDIT_WITNESS_QUORUM", "1")
    monkeypatch.setenv("VAULT_AUDIT_HEAD_MAX_AGE_SECONDS", "999999999")
    assert main(["audit", "verify", "--quiet"]) == 1
    assert "none arrived in time" in capsys.readouterr().err
    request = _request(tmp_path, 0, capsys)
    assert main(["witness", "cosign", str(state), str(request)]) == 0
    lines = tmp_path / "cosignatures.txt"
    lines.write_text(capsys.readouterr().out, encoding="utf-8")
    assert main(["audit", "cosign", str(lines)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--quiet"]) == 0, capsys.readouterr().err
