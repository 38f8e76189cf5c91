"""`vault audit prove`, `head` and `verify --since-head`, checked by tools/verify_log.py."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from vault.audit.canonical import decode, encode
from vault.cli import main
from vault.config import Settings
from vault.services import build_services

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_log.py"


@pytest.fixture
def vault_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads settings from VAULT_* variables: point them at a store with events."""
    monkeypatch.setenv("VAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAULT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")
    services = build_services(settings, migrate=True)
    try:
        for n in range(9):
            services.audit.append(sample_event(n))
    finally:
        services.close()
    return settings


def run_tool(request: Any) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(TOOL)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout


def prove(seq: int, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["audit", "prove", str(seq)]) == 0
    bundle: dict[str, Any] = json.loads(capsys.readouterr().out)
    return bundle


def test_an_inclusion_proof_from_the_vault_verifies_offline(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bundle `vault audit prove` prints passes the standalone verifier."""
    bundle = prove(4, capsys)
    code, out = run_tool(bundle)
    assert code == 0, out
    assert "ok: event 4 (record.read" in out


def _changed(bundle: dict[str, Any]) -> dict[str, Any]:
    event = bundle["inclusion"]["event"]
    document = decode(base64.b64decode(event["canonical"]))
    document["purpose"] = "statistics"
    event["canonical"] = base64.b64encode(encode(document)).decode()
    return bundle


def _reordered(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle["inclusion"]["index"] += 1
    return bundle


def test_a_changed_or_reordered_event_fails_offline(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same proof with the event's content changed, or at another position, fails."""
    for tamper in (_changed, _reordered):
        code, out = run_tool(tamper(prove(5, capsys)))
        assert code == 1, (tamper.__name__, out)


def test_a_removed_event_fails_offline(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """The proof of event 6 does not verify for event 7 shown in its place (6 removed)."""
    six = prove(6, capsys)
    seven = prove(7, capsys)
    six["inclusion"]["event"] = seven["inclusion"]["event"]
    code, _ = run_tool(six)
    assert code == 1


def test_a_kept_head_is_extended_and_the_consistency_proof_verifies_offline(
    vault_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A head kept earlier: --since-head passes after growth; the proof passes the tool."""
    kept = tmp_path / "head.txt"
    assert main(["audit", "head"]) == 0
    kept.write_text(capsys.readouterr().out, encoding="utf-8")
    services = build_services(vault_env)
    try:
        for n in range(5):
            services.audit.append(sample_event(n))
        services.audit.checkpoint_now()
        from vault.audit.proofs import ProofSource

        keeper = services.audit.heads()
        assert keeper is not None
        source = ProofSource(services.audit.engine, keeper)
        old_size = int(kept.read_text().split("\n")[1])
        bundle = source.consistency(old_size)
    finally:
        services.close()
    code, out = run_tool(bundle)
    assert code == 0, out
    assert main(["audit", "verify", "--since-head", str(kept)]) == 0


def test_a_kept_head_catches_a_rewritten_log(
    vault_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Events and signed heads rewritten after a head was kept: --since-head fails."""
    kept = tmp_path / "head.txt"
    assert main(["audit", "head"]) == 0
    kept.write_text(capsys.readouterr().out, encoding="utf-8")
    services = build_services(vault_env)
    with services.db.engine.begin() as conn:
        # The writer wipes the tree and the heads, then the log is rebuilt differently.
        conn.execute(text("DELETE FROM audit_nodes"))
        conn.execute(text("DELETE FROM audit_heads"))
        conn.execute(text("DELETE FROM audit_checkpoints"))
        conn.execute(text("DELETE FROM audit_events"))
    services.close()
    services = build_services(vault_env)
    try:
        for n in range(20):
            services.audit.append(sample_event(n + 100))
    finally:
        services.close()
    assert main(["audit", "verify", "--since-head", str(kept)]) == 1


def test_verify_fails_when_a_head_is_missing_from_the_chain(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting a signed head between two others breaks the prev chain: verify exits 1."""
    services = build_services(vault_env)
    try:
        for round_ in range(3):
            for n in range(3):
                services.audit.append(sample_event(n + 10 * round_))
            services.audit.checkpoint_now()
    finally:
        services.close()
    assert main(["audit", "verify", "--quiet"]) == 0
    services = build_services(vault_env)
    with services.db.engine.begin() as conn:
        sizes = [r[0] for r in conn.execute(text("SELECT size FROM audit_heads ORDER BY size"))]
        conn.execute(text("DELETE FROM audit_heads WHERE size = :s"), {"s": sizes[1]})
    services.close()
    capsys.readouterr()
    assert main(["audit", "verify", "--quiet"]) == 1
    assert "missing" in capsys.readouterr().err


def test_verify_fails_when_the_newest_head_is_too_far_behind(
    vault_env: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a lag limit below the events appended since the newest head, verify exits 1."""
    services = build_services(vault_env)
    try:
        with services.db.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_checkpoints"))
        for n in range(5):
            services.audit.append(sample_event(n))
    finally:
        # Closed without signing the tail: the writer stops before the final head.
        services.audit.close = lambda: None  # type: ignore[method-assign]  # keep the tail unsigned
        services.close()
    monkeypatch.setenv("VAULT_AUDIT_HEAD_MAX_LAG", "2")
    capsys.readouterr()
    assert main(["audit", "verify", "--quiet"]) == 1
    assert "appended after the newest head" in capsys.readouterr().err


def test_the_tree_stores_inner_nodes_only_and_every_event_still_proves(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Leaves come from the events' hashes: only complete inner subtrees are rows; all prove."""
    services = build_services(vault_env)
    try:
        with services.audit.engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
            levels = conn.execute(
                text("SELECT level, count(*) FROM audit_nodes GROUP BY level ORDER BY level")
            ).all()
    finally:
        services.close()
    inner = [(level, events >> level) for level in range(1, events.bit_length())]
    assert events >= 9
    assert [tuple(row) for row in levels] == inner
    for seq in range(1, events + 1):
        code, out = run_tool(prove(seq, capsys))
        assert code == 0, out
