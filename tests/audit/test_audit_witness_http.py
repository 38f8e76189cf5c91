"""A witness in its own process cosigns over HTTP while the log grows, and refuses a rewrite."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import text

from tests.audit.conftest import sample_event
from vault.app import create_app
from vault.config import Settings
from vault.services import Services, build_services

WITNESS = "bapas.example/witness"


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[str, Services]]:
    """The vault's app served on a local port (uvicorn in a thread), and its services."""
    services = build_services(settings, migrate=True)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, services), host="127.0.0.1", port=port, log_level="error"
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", services
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        services.close()


def witness(*args: str) -> subprocess.CompletedProcess[str]:
    """``vault witness ...`` in a process of its own, as a partner agency runs it."""
    env = {**os.environ, "VAULT_TESTING": "1"}
    return subprocess.run(
        [sys.executable, "-c", "import sys; from vault.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def _grow(services: Services, count: int, offset: int = 0) -> None:
    for n in range(count):
        services.audit.append(sample_event(n + offset))
    services.audit.checkpoint_now()


@pytest.fixture
def witnessed(settings: Settings, tmp_path: Path) -> tuple[Settings, Path]:
    """A vault with events, a witness state following its log, the vault accepting that witness."""
    services = build_services(settings, migrate=True)
    try:
        _grow(services, 5)
        keeper = services.audit.heads()
        assert keeper is not None
        log_vkey = str(keeper.current_vkey())
    finally:
        services.close()
    state = tmp_path / "witness.json"
    made = witness("witness", "init", str(state), "--name", WITNESS, "--log", log_vkey)
    assert made.returncode == 0, made.stderr
    configured = settings.model_copy(update={"audit_witness_keys": [made.stdout.strip()]})
    return configured, state


def test_a_witness_cosigns_over_http_and_refuses_a_rewritten_log(
    witnessed: tuple[Settings, Path],
) -> None:
    """Cosigned at the first head and a grown one; after a rewrite, refused and nothing stored."""
    settings, state = witnessed
    with serving(settings) as (url, services):
        first = witness("witness", "cosign", str(state), "--url", url)
        assert first.returncode == 0, first.stderr
        latest = httpx.get(f"{url}/v1/audit/heads/latest").json()
        assert f"\u2014 {WITNESS} " in latest["head"]
        _grow(services, 4, offset=10)
        grown = witness("witness", "cosign", str(state), "--url", url)
        assert grown.returncode == 0, grown.stderr
    size = json.loads(state.read_text())["latest"]["vault.local/audit"][0]
    # A database writer replaces the whole log (events, tree, heads) with another history.
    services = build_services(settings)
    with services.db.engine.begin() as conn:
        for table in ("audit_nodes", "audit_heads", "audit_checkpoints", "audit_events"):
            conn.execute(text(f"DELETE FROM {table}"))
    services.close()
    with serving(settings) as (url, services):
        _grow(services, size + 3, offset=100)
        refused = witness("witness", "cosign", str(state), "--url", url)
        assert refused.returncode == 1
        assert "refused" in refused.stderr
        latest = httpx.get(f"{url}/v1/audit/heads/latest").json()
        assert WITNESS not in latest["head"]
    assert json.loads(state.read_text())["latest"]["vault.local/audit"][0] == size


def test_the_vault_takes_only_valid_cosignatures_of_configured_witnesses(
    witnessed: tuple[Settings, Path], tmp_path: Path
) -> None:
    """A stranger's cosignature and a tampered one are refused (422); the head stays as it was."""
    settings, _ = witnessed
    with serving(settings) as (url, _services):
        latest = httpx.get(f"{url}/v1/audit/heads/latest").json()
        stranger_state = tmp_path / "stranger.json"
        made = witness(
            "witness",
            "init",
            str(stranger_state),
            "--name",
            "x.example/w",
            "--log",
            latest["log_key"],
        )
        assert made.returncode == 0, made.stderr
        request = tmp_path / "request.txt"
        request.write_text(f"old 0\n\n{latest['head']}", encoding="utf-8")
        signed = witness("witness", "cosign", str(stranger_state), str(request))
        assert signed.returncode == 0, signed.stderr
        post = f"{url}/v1/audit/heads/{latest['size']}/cosignatures"
        stranger = httpx.post(post, json={"cosignature": signed.stdout.strip()})
        assert stranger.status_code == 422
        assert httpx.post(post, json={"cosignature": "not a line"}).status_code == 422
        assert httpx.get(f"{url}/v1/audit/heads/latest").json()["head"] == latest["head"]
