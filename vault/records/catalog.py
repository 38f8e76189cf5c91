"""The data catalog (``policies/catalog.toml``): record types, fields and their categories.

Loaded and validated once at start-up; an invalid catalog stops the service.
Every value written to a record passes :meth:`Catalog.validate_fields` first.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from vault.errors import ConfigurationError, InvalidInput, UnknownCatalogEntry
from vault.vocabulary import Category

KINDS = ("text", "date", "choice")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    category: Category
    kind: str
    max_length: int
    choices: tuple[str, ...]

    def validate(self, value: object) -> str:
        """The value as stored text, or InvalidInput naming the field (never quoting the value)."""
        if not isinstance(value, str):
            raise InvalidInput(f"fields.{self.name}: must be a string")
        if self.kind == "date":
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                raise InvalidInput(f"fields.{self.name}: must be a date (YYYY-MM-DD)") from None
        if self.kind == "choice":
            if value not in self.choices:
                raise InvalidInput(f"fields.{self.name}: must be one of {', '.join(self.choices)}")
            return value
        if not value.strip():
            raise InvalidInput(f"fields.{self.name}: must not be empty")
        if len(value) > self.max_length:
            raise InvalidInput(f"fields.{self.name}: at most {self.max_length} characters")
        return value


@dataclass(frozen=True)
class RecordType:
    name: str
    description: str
    retention_years: int
    fields: Mapping[str, FieldSpec]

    @property
    def categories(self) -> frozenset[Category]:
        return frozenset(spec.category for spec in self.fields.values())


class Catalog:
    def __init__(self, types: Mapping[str, RecordType]) -> None:
        self.types = dict(types)

    @classmethod
    def load(cls, path: Path) -> Catalog:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigurationError(f"{path}: cannot read the data catalog ({exc})") from None
        types: dict[str, RecordType] = {}
        for type_name, spec in raw.get("types", {}).items():
            fields: dict[str, FieldSpec] = {}
            for field_name, field in spec.get("fields", {}).items():
                where = f"{path}: types.{type_name}.fields.{field_name}"
                try:
                    category = Category(field["category"])
                except (KeyError, ValueError):
                    raise ConfigurationError(f"{where}: unknown or missing category") from None
                kind = field.get("kind", "text")
                if kind not in KINDS:
                    raise ConfigurationError(f"{where}: kind must be one of {KINDS}")
                choices = tuple(field.get("choices", ()))
                if kind == "choice" and not choices:
                    raise ConfigurationError(f"{where}: a choice field needs choices")
                fields[field_name] = FieldSpec(
                    field_name, category, kind, int(field.get("max_length", 4000)), choices
                )
            if not fields:
                raise ConfigurationError(f"{path}: types.{type_name} has no fields")
            types[type_name] = RecordType(
                type_name,
                str(spec.get("description", "")),
                int(spec.get("retention_years", 10)),
                fields,
            )
        return cls(types)

    def record_type(self, name: str) -> RecordType:
        found = self.types.get(name)
        if found is None:
            raise UnknownCatalogEntry(f"type: unknown record type '{name[:64]}'")
        return found

    def category_of(self, record_type: str, field_name: str) -> Category:
        return self.record_type(record_type).fields[field_name].category

    def validate_fields(self, record_type: str, values: Mapping[str, object]) -> dict[str, str]:
        """Every field known and valid, or a 422 that names the unknown ones."""
        spec = self.record_type(record_type)
        if not values:
            raise InvalidInput("fields: a record needs at least one field")
        unknown = sorted(name for name in values if name not in spec.fields)
        if unknown:
            names = ", ".join(name[:64] for name in unknown)
            raise UnknownCatalogEntry(f"fields: unknown for {record_type}: {names}")
        return {name: spec.fields[name].validate(value) for name, value in values.items()}
