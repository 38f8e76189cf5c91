"""Bearer tokens: 256 random bits, shown once, stored only as their SHA-256.

A token is a high-entropy random value, so a fast hash is enough (no argon2 per
request): finding a token from its digest means guessing 256 bits.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_BYTES = 32
# The longest value accepted in an Authorization header before hashing; a real
# token is 43 characters of URL-safe base64.
MAX_TOKEN_CHARS = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token: what the database holds and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
