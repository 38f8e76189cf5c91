"""Password and PIN hashing with argon2id (argon2-cffi), one named RFC 9106 profile.

Hashing is slow on purpose (~120 ms and ~64 MiB at the low-memory profile), so
HTTP handlers call it from a worker thread, never on the event loop. The
parameters are validated once, at construction.
"""

from __future__ import annotations

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from vault.config import Argon2Profile
from vault.errors import InvalidInput

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 1024

_PROFILES = {
    Argon2Profile.RFC_9106_LOW_MEMORY: profiles.RFC_9106_LOW_MEMORY,
    Argon2Profile.RFC_9106_HIGH_MEMORY: profiles.RFC_9106_HIGH_MEMORY,
    Argon2Profile.CHEAPEST: profiles.CHEAPEST,
}


class SecretHasher:
    """Hashes and verifies passwords and kiosk PINs; never raises on a mismatch."""

    def __init__(self, profile: Argon2Profile = Argon2Profile.RFC_9106_LOW_MEMORY) -> None:
        self.profile = profile
        self._hasher = PasswordHasher.from_parameters(_PROFILES[profile])
        # Verified against when the username is unknown, so that an unknown user
        # costs the same time as a wrong password (no user enumeration by timing).
        # Made on first use: the CLI and the tests rarely need it.
        self._dummy_hash: str | None = None

    def __repr__(self) -> str:
        return f"SecretHasher(profile={self.profile.value!r})"

    def hash(self, secret: str) -> str:
        if not secret:
            raise ValueError("refusing to hash an empty secret")
        return self._hasher.hash(secret)

    def verify(self, stored_hash: str, secret: str) -> bool:
        """True iff ``secret`` matches; False on mismatch or on a malformed stored hash."""
        try:
            return self._hasher.verify(stored_hash, secret)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def verify_dummy(self, secret: str) -> bool:
        """Do the work of one verification and return False (for unknown accounts)."""
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash("not a real password: timing equaliser")
        self.verify(self._dummy_hash, secret)
        return False

    def needs_rehash(self, stored_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def check_password(password: str) -> None:
    """Refuse a password too short to resist guessing, or too long to hash cheaply."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"A password has at least {MIN_PASSWORD_CHARS} characters.")
    if len(password) > MAX_PASSWORD_CHARS:
        raise InvalidInput(f"A password has at most {MAX_PASSWORD_CHARS} characters.")
