"""Real ``vault`` processes for the crash and concurrency tests: start a server on a free
port, wait until it answers, kill it with SIGKILL (no shutdown hook runs)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.world import World, build_world
from vault.config import Settings

VAULT = [sys.executable, "-m", "vault.cli"]


def vault_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment a vault process needs to use the same store and keys as ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VAULT_")}
    env.update(
        VAULT_DATABASE_URL=settings.database_url,
        VAULT_KEYS_DIR=str(settings.keys_dir),
        VAULT_TESTING="1",
        VAULT_ARGON2_PROFILE="cheapest",
        VAULT_LOG_LEVEL="WARNING",
        # The load these tests put on one account would otherwise meet the per-user read
        # limit (its own test is in tests/records/test_read_limit.py).
        VAULT_READ_LIMIT_PER_MINUTE="0",
    )
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL to the server and its workers: no chance to flush, commit or sign."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)  # its own session: only ours
        self.process.wait(timeout=10)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10.0, **kwargs)


def start_server(settings: Settings, log: Path, workers: int = 1, **env: str) -> Server:
    """``vault serve`` on a free port; returns once ``/health`` answers."""
    port = free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        [*VAULT, "serve", "--port", str(port), "--workers", str(workers)],
        env=vault_env(settings, **env),
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a process group of its own, killed as one
    )
    handle.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"vault serve exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/health", timeout=1.0).status_code == 200:
                return Server(process, url, log)
        except httpx.TransportError:
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError("vault serve did not answer within 30 s")


def run_vault(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VAULT, *args],
        env=vault_env(settings, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def prepared_world(settings: Settings) -> Iterator[World]:
    """The world of tests/world.py built in process, then closed so real servers take over
    (tokens live in the database, so the world's headers stay valid)."""
    return build_world(settings)
