"""``vault audit verify`` exits 0 on an intact log and 1 with the first bad seq otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.audit.conftest import sample_event
from tests.support import ensure_organization
from vault.cli import main
from vault.config import Settings
from vault.services import build_services


@pytest.fixture
def vault_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The CLI reads settings from VAULT_* variables: point them at the test store."""
    monkeypatch.setenv("VAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAULT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")
    services = build_services(settings, migrate=True)
    try:
        for n in range(6):
            services.audit.append(sample_event(n))
    finally:
        services.close()  # closing signs a checkpoint of the tail
    return settings


def test_verify_exits_0_then_1_with_the_first_bad_seq(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """Intact: exit 0. After an edited row: exit 1 and that seq printed."""
    assert main(["audit", "verify", "--quiet"]) == 0
    assert "intact" in capsys.readouterr().out
    services = build_services(vault_env)
    with services.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET canonical = :c WHERE seq = 3"), {"c": b"{}"})
    services.close()
    assert main(["audit", "verify", "--quiet", "--full"]) == 1
    captured = capsys.readouterr()
    assert captured.out.strip() == "3"
    assert "seq 3" in captured.err


def test_verify_walks_on_from_the_last_verified_head_and_full_walks_everything(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """The second verify names the range after the verified head; an older edit needs --full."""
    assert main(["audit", "verify", "--quiet"]) == 0
    assert "events 1.." in capsys.readouterr().out
    assert main(["audit", "verify", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "events 1.." not in out
    assert "from the verified head of size" in out
    services = build_services(vault_env)
    with services.db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET canonical = :c WHERE seq = 2"), {"c": b"{}"})
    services.close()
    assert main(["audit", "verify", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", "--quiet", "--full"]) == 1
    assert capsys.readouterr().out.strip() == "2"


def test_exported_checkpoints_pin_the_tail(
    vault_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoints exported to a file catch a truncation after the vault's copy is deleted."""
    pinned = tmp_path / "pinned.jsonl"
    assert main(["audit", "checkpoints", "--output", str(pinned)]) == 0
    assert pinned.read_text().count("\n") >= 1
    services = build_services(vault_env)
    with services.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints"))
        conn.execute(text("DELETE FROM audit_events WHERE seq > 4"))
        # A careful writer also cuts the tree back, and the signed heads, to 4 leaves.
        conn.execute(text("DELETE FROM audit_nodes WHERE ((idx + 1) * (1 << level)) > 4"))
        conn.execute(text("DELETE FROM audit_heads"))
    services.close()
    # Alone, the chain shows nothing; the missing signed heads do.
    assert main(["audit", "verify", "--quiet"]) == 1
    assert "no signed tree head" in capsys.readouterr().err
    assert main(["audit", "verify", "--quiet", "--pinned", str(pinned)]) == 1
    # Found at or after the first missing event (the CLI's own events refill the numbers).
    assert int(capsys.readouterr().out.strip().splitlines()[-1]) >= 5


def test_alerts_command_reads_each_organisations_new_events_once(
    vault_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vault audit alerts` folds each organisation's events; run again, it reads nothing old."""
    services = build_services(vault_env)
    try:
        ensure_organization(services, "rutan-jakpus")
    finally:
        services.close()
    assert main(["audit", "alerts"]) == 0
    assert "rutan-jakpus:" in capsys.readouterr().out
    assert main(["audit", "alerts"]) == 0
    assert "rutan-jakpus: 0 new events read" in capsys.readouterr().out
