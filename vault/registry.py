"""Where a capability's command finds the vault's services without importing the composition root.

``vault.services.build_services`` wires every capability together, so a
capability that imported it would import every other capability, itself
included: one cycle through the whole package. Instead the command line
(``vault.cli``, above every capability) installs the builder here at start,
and a capability's command asks ``open_services(settings)`` for what it needs.
HTTP handlers get their services by injection (``vault.app``), not from here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vault.config import Settings
from vault.errors import ConfigurationError

__all__ = ["install", "open_services"]

_builder: Callable[[Settings], Any] | None = None


def install(builder: Callable[[Settings], Any]) -> None:
    """Name the function that builds the services (the command line does, at start)."""
    global _builder
    _builder = builder


def open_services(settings: Settings) -> Any:
    """The vault's services for one command; the caller closes them (``services.close()``)."""
    if _builder is None:
        raise ConfigurationError(
            "The vault's services were not installed (start through vault.cli)."
        )
    return _builder(settings)
