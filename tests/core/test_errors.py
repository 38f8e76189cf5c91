"""``vault.errors``: each error maps to one HTTP status and says only what it was given."""

from __future__ import annotations

import pytest

from vault import errors


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InvalidInput, 422),
        (errors.UnknownCatalogEntry, 422),
        (errors.AuthenticationFailed, 401),
        (errors.Forbidden, 403),
        (errors.NotFound, 404),
        (errors.Conflict, 409),
        (errors.PayloadTooLarge, 413),
        (errors.RateLimited, 429),
        (errors.AuditUnavailable, 503),
        (errors.KeyUnavailable, 503),
        (errors.SignatureInvalid, 422),
        (errors.ConfigurationError, 500),
    ],
)
def test_each_error_has_its_status(error: type[errors.VaultError], status: int) -> None:
    """The status a client sees is fixed by the error's class."""
    assert error.status == status
    assert issubclass(error, errors.VaultError)


def test_unknown_catalog_entry_is_a_kind_of_invalid_input() -> None:
    """Code that handles InvalidInput also handles an unknown record type or field."""
    assert issubclass(errors.UnknownCatalogEntry, errors.InvalidInput)


def test_detail_defaults_to_the_title_and_extra_is_kept() -> None:
    """Without a detail the title is shown; given extras travel with the error."""
    bare = errors.NotFound()
    assert bare.detail == "Not found"
    assert str(bare) == "Not found"
    told = errors.Conflict("Legal hold.", field="hold")
    assert (told.detail, told.extra) == ("Legal hold.", {"field": "hold"})


def test_decryption_failure_says_nothing_about_why() -> None:
    """Every decryption failure reads the same: no padding or tag oracle in the message."""
    assert errors.DecryptionFailed().detail == "Decryption failed."
    assert issubclass(errors.DecryptionFailed, errors.CryptoError)


def test_rate_limit_carries_when_to_retry() -> None:
    """A 429 says how many seconds to wait (a minute unless told)."""
    assert errors.RateLimited().retry_after == 60
    assert errors.RateLimited("Slow down.", retry_after=7).retry_after == 7


def test_slugs_are_unique() -> None:
    """Each error has its own problem type, so a client can tell them apart."""
    classes = [c for c in vars(errors).values() if isinstance(c, type)]
    vault_errors = [c for c in classes if issubclass(c, errors.VaultError)]
    slugs = [c.slug for c in vault_errors]
    assert len(slugs) == len(set(slugs))
