"""Bearer tokens: 256 random bits, shown once, stored only as their SHA-256.

A token is a high-entropy random value, so a fast hash is enough (no argon2 per
request): finding a token from its digest means guessing 256 bits.

A token row also carries a seal (``auth_tokens.binding_seal``, vault.crypto.columns)
over its account, digest and expiry, bound to the row: a row a database writer
inserts with the digest of a value of their choosing, or whose expiry they push
out, does not open, so the database alone never lets anyone act as a user.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

TOKEN_BYTES = 32
# The longest value accepted in an Authorization header before hashing; a real
# token is 43 characters of URL-safe base64.
MAX_TOKEN_CHARS = 128


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """The hex SHA-256 of a token: what the database holds and looks up."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


TOKENS_TABLE = "auth_tokens"
BINDING_COLUMN = "binding"


def token_binding(user_id: uuid.UUID, digest: str, expires_at: datetime) -> str:
    """What a token row's ``binding_seal`` holds (newline-joined: no part contains one)."""
    expiry = expires_at.astimezone(UTC).isoformat(timespec="microseconds")
    return f"{user_id}\n{digest}\n{expiry}"
