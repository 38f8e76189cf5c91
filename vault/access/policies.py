"""Loading the Cedar policies of ``policies/``: parse, validate, remember where each came from.

An invalid policy stops the service: the error names the file, the line and
the policy's ``@id``. cedarpy reports parse errors without a position, so each
file is split into its statements here (at top-level ``;``) and every
statement is parsed alone; the first that fails gives the line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cedarpy

from vault.errors import ConfigurationError

SCHEMA_SUFFIX = ".cedarschema"
POLICY_SUFFIX = ".cedar"
# Legal bases a releasing policy may name (see release.cedar).
KNOWN_BASES = frozenset({"consent", "break_glass", "statutory_identity"})
RELEASE_ACTION = 'Vault::Action::"category.release"'


@dataclass(frozen=True)
class PolicySource:
    """Where one policy came from, and its annotations."""

    parser_id: str  # "policy7": the id cedarpy reports in its answers
    policy_id: str  # the @id annotation
    file: str
    line: int
    annotations: dict[str, str]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line} (policy {self.policy_id!r})"


@dataclass(frozen=True)
class LoadedPolicies:
    policy_set: Any  # cedarpy.PolicySet, a pre-parsed handle
    schema: Any  # cedarpy.Schema, a pre-parsed handle
    schema_text: str
    text: str
    sources: dict[str, PolicySource]  # by parser id
    files: tuple[str, ...]

    def source(self, parser_id: str) -> PolicySource | None:
        return self.sources.get(parser_id)


def split_statements(text: str) -> list[tuple[int, str]]:
    """Split Cedar text into (line of first token, statement) at top-level semicolons."""
    statements: list[tuple[int, str]] = []
    start = 0
    first_line: int | None = None
    line = 1
    depth = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line += 1
        elif ch == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == '"':
            if first_line is None:
                first_line = line
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                elif text[i] == "\n":
                    line += 1
                i += 1
        elif not ch.isspace():
            if first_line is None:
                first_line = line
            if ch in "([{":
                depth += 1
            elif ch in ")]}":
                depth -= 1
            elif ch == ";" and depth == 0:
                statements.append((first_line, text[start : i + 1]))
                start = i + 1
                first_line = None
        i += 1
    if first_line is not None:
        # Trailing text without a semicolon: let the parser say what is wrong with it.
        statements.append((first_line, text[start:]))
    return statements


def _parse_error(where: str, exc: Exception) -> ConfigurationError:
    return ConfigurationError(f"invalid policy at {where}: {exc}")


def load_policies(directory: Path) -> LoadedPolicies:
    """Read, parse and validate every ``*.cedar`` file against the one schema in ``directory``."""
    schema_files = sorted(directory.glob(f"*{SCHEMA_SUFFIX}"))
    if len(schema_files) != 1:
        raise ConfigurationError(
            f"{directory}: expected exactly one {SCHEMA_SUFFIX} file, found {len(schema_files)}"
        )
    schema_path = schema_files[0]
    schema_text = schema_path.read_text(encoding="utf-8")
    try:
        schema = cedarpy.Schema.from_str(schema_text)
    except ValueError as exc:
        raise ConfigurationError(f"invalid Cedar schema {schema_path.name}: {exc}") from None

    policy_files = sorted(directory.glob(f"*{POLICY_SUFFIX}"))
    if not policy_files:
        raise ConfigurationError(f"{directory}: no {POLICY_SUFFIX} policy files")
    statements: list[tuple[str, int, str]] = []
    for path in policy_files:
        for line, statement in split_statements(path.read_text(encoding="utf-8")):
            try:
                cedarpy.PolicySet.from_str(statement)
            except ValueError as exc:
                raise _parse_error(f"{path.name}:{line}", exc) from None
            statements.append((path.name, line, statement))

    text = "\n".join(statement for _, _, statement in statements)
    est = json.loads(cedarpy.policies_to_json_str(text))
    if est.get("templates"):
        raise ConfigurationError("policy templates are not used by the vault; remove them")
    static = est["staticPolicies"]
    sources: dict[str, PolicySource] = {}
    seen_ids: dict[str, str] = {}
    for index, (file, line, _) in enumerate(statements):
        parser_id = f"policy{index}"
        policy = static[parser_id]
        annotations = {k: str(v) for k, v in (policy.get("annotations") or {}).items()}
        policy_id = annotations.get("id", "")
        where = f"{file}:{line}"
        if not policy_id:
            raise ConfigurationError(f"invalid policy at {where}: every policy needs an @id")
        if policy_id in seen_ids:
            raise ConfigurationError(
                f"invalid policy at {where}: @id {policy_id!r} is already used "
                f"at {seen_ids[policy_id]}"
            )
        seen_ids[policy_id] = where
        source = PolicySource(parser_id, policy_id, file, line, annotations)
        _check_basis(source, policy)
        sources[parser_id] = source

    result = cedarpy.validate_policies(text, schema)
    if not result.validation_passed:
        problems = []
        for error in result.errors:
            known = sources.get(error.policy_id)
            where = known.where if known else schema_path.name
            problems.append(f"{where}: {error.error}")
        raise ConfigurationError("invalid policy at " + "; ".join(problems))
    return LoadedPolicies(
        policy_set=cedarpy.PolicySet.from_str(text),
        schema=schema,
        schema_text=schema_text,
        text=text,
        sources=sources,
        files=tuple(path.name for path in policy_files),
    )


def _check_basis(source: PolicySource, policy: dict[str, Any]) -> None:
    """A permit that can release a category must name a basis the engine knows."""
    if policy.get("effect") != "permit":
        return
    action = policy.get("action", {})
    releases = action.get("op") == "All" or any(
        entity.get("id") == "category.release"
        for entity in ([action["entity"]] if "entity" in action else action.get("entities", []))
    )
    if releases and source.annotations.get("basis") not in KNOWN_BASES:
        raise ConfigurationError(
            f"invalid policy at {source.where}: a permit of category.release needs "
            f"@basis({'|'.join(sorted(KNOWN_BASES))})"
        )
