"""A real vault served by uvicorn on a free loopback port, and Debian's Chromium driven by
Playwright, for the browser tests. Skips without /usr/bin/chromium unless
VAULT_REQUIRE_BROWSER=1 (then it fails)."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("VAULT_REQUIRE_BROWSER") == "1":
        pytest.fail("VAULT_REQUIRE_BROWSER=1 but /usr/bin/chromium is missing")
    pytest.skip("Chromium is not installed (apt-get install chromium chromium-driver)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """uvicorn in a thread, serving the given app on 127.0.0.1."""

    def __init__(self, app: Any, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the vault did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class Browser:
    """One Chromium for the module; a fresh context (no cookies) per test."""

    def __init__(self) -> None:
        from playwright.sync_api import sync_playwright

        self._manager = sync_playwright().start()
        # launch() gives every run a fresh, temporary user-data dir of its own (Playwright
        # refuses --user-data-dir here), so no profile state survives between runs.
        self.chromium = self._manager.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )

    def close(self) -> None:
        self.chromium.close()
        self._manager.stop()


def shoot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under tests/artifacts/ (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require_chromium()
    opened = Browser()
    try:
        yield opened
    finally:
        opened.close()
