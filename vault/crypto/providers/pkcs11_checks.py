"""Token checks for the ``pkcs11`` key provider: settings, the python-pkcs11 import,
and refusing any key that could have been seen outside the token."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault.errors import ConfigurationError

if TYPE_CHECKING:
    from vault.config import Settings


def token_settings(settings: Settings) -> tuple[Path, str, str]:
    module, label, pin = settings.pkcs11_module, settings.pkcs11_token_label, settings.pkcs11_pin
    if module is None or not label or not pin:
        raise ConfigurationError(
            "the pkcs11 key provider needs VAULT_PKCS11_MODULE, VAULT_PKCS11_TOKEN_LABEL "
            "and VAULT_PKCS11_PIN"
        )
    return module, label, pin


def load_pkcs11() -> Any:
    try:
        import pkcs11
    except ImportError:
        raise ConfigurationError(
            "VAULT_KEY_PROVIDER=pkcs11 needs python-pkcs11: pip install 'vault[hsm]'"
        ) from None
    return pkcs11


class TokenChecks:
    """Attribute reads and key protection checks, mixed into the PKCS#11 provider."""

    _p11: Any
    _session: Any
    _lock: threading.RLock
    _checked: set[int]

    def _attribute(self, obj: Any, attribute: Any) -> Any:
        """An attribute's value, or None where the token does not report it."""
        p11 = self._p11
        try:
            return obj[attribute]
        except (p11.exceptions.AttributeTypeInvalid, p11.exceptions.AttributeSensitive):
            return None
        except p11.exceptions.PKCS11Error:
            return None

    def _check_protected(self, obj: Any, label: str) -> None:
        """Refuse a key that could have been seen outside the token."""
        handle = getattr(obj, "handle", None)
        if handle is not None and handle in self._checked:
            return
        attr = self._p11.Attribute
        problems = []
        if self._attribute(obj, attr.SENSITIVE) is not True:
            problems.append("not CKA_SENSITIVE")
        if self._attribute(obj, attr.EXTRACTABLE) is not False:
            problems.append("extractable")
        for name, attribute in (
            ("CKA_NEVER_EXTRACTABLE", attr.NEVER_EXTRACTABLE),
            ("CKA_ALWAYS_SENSITIVE", attr.ALWAYS_SENSITIVE),
            ("CKA_LOCAL", attr.LOCAL),
        ):
            if self._attribute(obj, attribute) is False:
                problems.append(f"not {name}")
        if problems:
            raise ConfigurationError(
                f"the PKCS#11 key {label!r} is {', '.join(problems)}: it may have existed "
                "outside the token, so the vault will not use it"
            )
        if handle is not None:
            self._checked.add(handle)
