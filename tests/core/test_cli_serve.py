"""``vault serve``: what it hands uvicorn."""

from __future__ import annotations

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vault.cli import serve_options
from vault.config import Settings


async def _no_app(scope: object, receive: object, send: object) -> None:
    """Stands in for the vault's app, which ``load()`` would build against a real store."""


def _loaded(settings: Settings) -> uvicorn.Config:
    options = serve_options(settings, "127.0.0.1", 8000, 1)
    assert options.pop("app") == "vault.app:app_from_env"
    config = uvicorn.Config(app=_no_app, **{**options, "factory": False})
    config.load()
    return config


def test_serve_runs_the_c_parser_and_event_loop(settings: Settings) -> None:
    """The server parses HTTP with httptools and runs on uvloop, not the slower defaults."""
    config = _loaded(settings)
    assert config.http_protocol_class is HttpToolsProtocol
    factory = config.get_loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def test_serve_trusts_forwarded_headers_only_from_configured_proxies(settings: Settings) -> None:
    """Without VAULT_TRUSTED_PROXIES no X-Forwarded-For is believed, not even from 127.0.0.1."""
    assert serve_options(settings, "127.0.0.1", 8000, 1)["proxy_headers"] is False
    proxied = settings.model_copy(update={"trusted_proxies": ["10.0.0.5"]})
    options = serve_options(proxied, "127.0.0.1", 8000, 2)
    assert options["proxy_headers"] is True
    assert options["forwarded_allow_ips"] == ["10.0.0.5"]


@pytest.mark.parametrize("leaky", ["access_log", "server_header"])
def test_serve_logs_no_query_strings_and_names_no_server(settings: Settings, leaky: str) -> None:
    """The access log (query strings may hold identifiers) and the Server header stay off."""
    assert serve_options(settings, "127.0.0.1", 8000, 1)[leaky] is False
