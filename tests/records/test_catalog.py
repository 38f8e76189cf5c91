"""``vault.records.catalog``: only known record types and fields, validated, reach the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.errors import ConfigurationError, InvalidInput, UnknownCatalogEntry
from vault.records.catalog import Catalog
from vault.vocabulary import Category

SHIPPED = Path(__file__).resolve().parents[2] / "policies" / "catalog.toml"

CATALOG = """
[types.session_note]
description = "a counselling session"
retention_years = 5

[types.session_note.fields.summary]
category = "psychological"
max_length = 20

[types.session_note.fields.held_on]
category = "program"
kind = "date"

[types.session_note.fields.mood]
category = "psychological"
kind = "choice"
choices = ["calm", "anxious"]
"""


def _load(tmp_path: Path, text: str = CATALOG) -> Catalog:
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return Catalog.load(path)


def test_shipped_catalog_loads() -> None:
    """The catalog in the repository is valid and gives every field a category."""
    catalog = Catalog.load(SHIPPED)
    assert catalog.types
    for record_type in catalog.types.values():
        assert record_type.categories <= set(Category)


def test_valid_values_are_stored_as_text(tmp_path: Path) -> None:
    """Text, a date (normalised) and a choice pass; the type's categories are its fields'."""
    catalog = _load(tmp_path)
    values = {"summary": "slept better", "held_on": "2026-03-01", "mood": "calm"}
    assert catalog.validate_fields("session_note", values) == values
    assert catalog.record_type("session_note").categories == {
        Category.PSYCHOLOGICAL,
        Category.PROGRAM,
    }
    assert catalog.record_type("session_note").retention_years == 5
    assert catalog.category_of("session_note", "held_on") is Category.PROGRAM


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"summary": 12}, "fields.summary: must be a string"),
        ({"summary": "   "}, "fields.summary: must not be empty"),
        ({"summary": "x" * 21}, "fields.summary: at most 20 characters"),
        ({"held_on": "01/03/2026"}, "fields.held_on: must be a date"),
        ({"mood": "furious"}, "fields.mood: must be one of calm, anxious"),
        ({}, "at least one field"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    tmp_path: Path, values: dict[str, object], message: str
) -> None:
    """Each refusal names the field and the rule, never echoing the value."""
    with pytest.raises(InvalidInput) as refused:
        _load(tmp_path).validate_fields("session_note", values)
    assert message in str(refused.value)
    assert "furious" not in str(refused.value)


def test_unknown_type_or_field_is_an_unknown_catalog_entry(tmp_path: Path) -> None:
    """Names the catalog does not hold are refused as such (and cut to 64 characters)."""
    catalog = _load(tmp_path)
    with pytest.raises(UnknownCatalogEntry, match="unknown record type 'diary'"):
        catalog.validate_fields("diary", {"summary": "x"})
    with pytest.raises(UnknownCatalogEntry, match="unknown for session_note: hiv_status"):
        catalog.validate_fields("session_note", {"summary": "x", "hiv_status": "y"})
    with pytest.raises(UnknownCatalogEntry) as long_name:
        catalog.record_type("t" * 500)
    assert "t" * 65 not in str(long_name.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[types.a.fields.x]\ncategory = 'secrets'\n", "unknown or missing category"),
        ("[types.a.fields.x]\nkind = 'text'\n", "unknown or missing category"),
        ("[types.a.fields.x]\ncategory = 'program'\nkind = 'blob'\n", "kind must be one of"),
        ("[types.a.fields.x]\ncategory = 'program'\nkind = 'choice'\n", "needs choices"),
        ("[types.a]\ndescription = 'empty'\n", "has no fields"),
        ("[types.a\n", "cannot read the data catalog"),
    ],
)
def test_invalid_catalog_stops_the_service(tmp_path: Path, text: str, message: str) -> None:
    """A broken catalog is a configuration error naming where it is wrong."""
    with pytest.raises(ConfigurationError, match=message):
        _load(tmp_path, text)
