"""``vault.identity.totp``: a code matches its own time step, within one step of drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

from vault.identity import totp

NOW = datetime(2026, 3, 1, 8, 0, 15, tzinfo=UTC)
STEP = timedelta(seconds=30)


def test_code_of_now_matches_the_current_step() -> None:
    """The code shown now is accepted now, and names the step it belongs to."""
    secret = totp.new_secret()
    step = totp.matching_step(secret, totp.code_at(secret, NOW), NOW)
    assert step == int(NOW.timestamp()) // 30


def test_one_step_of_clock_drift_is_accepted_either_way() -> None:
    """A code from the step before or after still matches (a phone's clock drifts)."""
    secret = totp.new_secret()
    current = int(NOW.timestamp()) // 30
    assert totp.matching_step(secret, totp.code_at(secret, NOW - STEP), NOW) == current - 1
    assert totp.matching_step(secret, totp.code_at(secret, NOW + STEP), NOW) == current + 1


def test_code_two_steps_old_is_refused() -> None:
    """A code older than the drift window matches nothing."""
    secret = totp.new_secret()
    assert totp.matching_step(secret, totp.code_at(secret, NOW - 2 * STEP), NOW) is None


def test_malformed_codes_are_refused_and_spaces_are_tolerated() -> None:
    """Letters and short codes never match; a pasted code with spaces around it does."""
    secret = totp.new_secret()
    code = totp.code_at(secret, NOW)
    assert totp.matching_step(secret, f" {code}\n", NOW) is not None
    assert totp.matching_step(secret, code[:5], NOW) is None
    assert totp.matching_step(secret, "abcdef", NOW) is None
    assert totp.matching_step(secret, "", NOW) is None


def test_another_secret_does_not_match() -> None:
    """A code made under one user's secret does not open another user's."""
    mine, theirs = "MZUXE43UFV2XGZLSFVZWKY3SMV2CCIJB", "N52GQZLSFV2XGZLSFVZWKY3SMV2CCIJB"
    assert totp.matching_step(mine, totp.code_at(theirs, NOW), NOW) is None
    assert totp.matching_step(theirs, totp.code_at(mine, NOW), NOW) is None


def test_provisioning_uri_names_the_vault_and_the_user() -> None:
    """The enrolment URI an authenticator app scans carries the issuer and the username."""
    secret = totp.new_secret()
    uri = urlparse(totp.provisioning_uri(secret, "nurse.siti"))
    assert uri.scheme == "otpauth"
    assert uri.netloc == "totp"
    assert "nurse.siti" in uri.path
    query = parse_qs(uri.query)
    assert query["issuer"] == [totp.ISSUER]
    assert query["secret"] == [secret]
