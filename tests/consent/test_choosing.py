"""``vault.consent.choosing``: a PIN easy to guess is refused, with the reason the kiosk shows."""

from __future__ import annotations

from datetime import date

import pytest

from vault.consent.choosing import MAX_PIN_DIGITS, MIN_PIN_DIGITS, birth_forms, obvious

BORN = date(1990, 7, 4)


def test_birth_date_is_known_in_the_four_ways_people_write_it() -> None:
    """DDMMYY, DDMMYYYY, YYMMDD and YYYYMMDD of the date of birth."""
    assert birth_forms(BORN) == {"040790", "04071990", "900704", "19900704"}


@pytest.mark.parametrize(
    ("pin", "reason"),
    [
        ("12345", "pin_too_short"),
        ("1" * (MAX_PIN_DIGITS + 1), "pin_too_short"),
        ("12a456", "pin_too_short"),
        ("", "pin_too_short"),
        ("777777", "pin_same_digit"),
        ("123456", "pin_run"),
        ("654321", "pin_run"),
        ("8901234", "pin_run"),  # a run may wrap past 9
        ("040790", "pin_birth_date"),
        ("19900704", "pin_birth_date"),
        ("55900704", "pin_birth_date"),  # the date inside a longer PIN
    ],
)
def test_easy_pins_are_refused_with_their_reason(pin: str, reason: str) -> None:
    """Each way of being easy to guess has its own message key."""
    assert obvious(pin, BORN) == reason


@pytest.mark.parametrize("pin", ["284619", "9071135", "40719905"])
def test_ordinary_pins_may_be_chosen(pin: str) -> None:
    """A PIN that is none of the easy kinds is accepted."""
    assert obvious(pin, BORN) is None


def test_without_a_known_birth_date_only_the_shape_is_checked() -> None:
    """When no date of birth is recorded, a date-like PIN is not refused for it."""
    assert obvious("040790", None) is None
    assert obvious("111111", None) == "pin_same_digit"


def test_length_bounds_are_inclusive() -> None:
    """Exactly the shortest and the longest allowed lengths are accepted."""
    assert obvious("284619"[:MIN_PIN_DIGITS], None) is None
    assert obvious(("284619" * 3)[:MAX_PIN_DIGITS], None) is None
