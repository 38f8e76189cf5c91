"""TOTP second factor (RFC 6238 through pyotp) with replay protection.

pyotp accepts a code again and again within its window; the vault remembers
the last time step it accepted per user and refuses that step and older ones.
"""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

# Accept the previous, current and next 30-second step (clock drift).
DRIFT_STEPS = 1
ISSUER = "Records vault"


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, username: str) -> str:
    return str(pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER))


def code_at(secret: str, when: datetime) -> str:
    return str(pyotp.TOTP(secret).at(when))


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code equals ``code`` (within the drift), or None."""
    code = code.strip()
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(totp.timecode(now))
    found: int | None = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Compare every candidate (no early exit) in constant time.
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            found = step
    return found
