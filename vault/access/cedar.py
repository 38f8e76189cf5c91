"""Asking Cedar: requests in, verdicts out, with the ``@id`` and ``@reason`` of what decided.

``CedarPolicies`` holds the pre-parsed policy set and answers batches of
requests, remembering each answer by its complete input (``vault.access.memo``).
It knows nothing of the vault's facts: the engine (``vault.access.engine``)
builds the requests and reads the verdicts.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cedarpy

from vault.access.memo import MEMO_SIZE, Memo
from vault.access.policies import LoadedPolicies
from vault.vocabulary import Category, Principal, Role

log = logging.getLogger("vault.access")

# Separation of duties: these roles never obtain record content, whatever the policies say.
NO_CONTENT_ROLES = frozenset({Role.ADMIN, Role.COMPLIANCE_OFFICER})


def uid(kind: str, value: str) -> dict[str, str]:
    return {"type": f"Vault::{kind}", "id": value}


def action_uid(name: str) -> dict[str, str]:
    return {"type": "Vault::Action", "id": name}


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    parser_ids: tuple[str, ...]
    errors: tuple[str, ...]


@dataclass(frozen=True)
class MatrixEntry:
    allowed: bool
    policy_ids: tuple[str, ...]
    reason: str


def _names_entities(est: Any, types: frozenset[str]) -> frozenset[str]:
    """The entity types of ``types`` that some policy names by id (a literal ``T::"id"``)."""
    found: set[str] = set()
    stack = [est]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in types and "id" in node:
                found.add(node["type"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(found)


@lru_cache(maxsize=4096)
def principal_entities(user_id: uuid.UUID, role: Role) -> Any:
    """A pre-parsed entities handle per user (the user's one parent is their role)."""
    entity = {"uid": uid("User", str(user_id)), "attrs": {}, "parents": [uid("Role", role)]}
    return cedarpy.Entities.from_json_str(json.dumps([entity]))


class CedarPolicies:
    """Pre-parsed policies; one instance per engine, safe to share between threads."""

    def __init__(self, policies: LoadedPolicies, memo_size: int = MEMO_SIZE) -> None:
        self.policies = policies
        # Which ids can change an answer: when no policy names a user (or a subject)
        # by id, a user is only its role to Cedar (its one parent, no attributes),
        # and every subject is alike (no attributes, no parents), so the memo's key
        # holds the role instead of the user and no subject id. Otherwise the ids.
        named = _names_entities(
            json.loads(cedarpy.policies_to_json_str(policies.text)),
            frozenset({"Vault::User", "Vault::Subject"}),
        )
        self._key_by_user = "Vault::User" in named
        self._key_by_subject = "Vault::Subject" in named
        self._memo: Memo[Verdict] = Memo(memo_size)
        # Evaluation errors so far: a decision that met one is not remembered.
        self.errors_seen = 0

    @property
    def remembered(self) -> int:
        """How many of Cedar's answers are remembered now."""
        return len(self._memo)

    def ids(self, parser_ids: Iterable[str]) -> tuple[str, ...]:
        """The ``@id`` of each policy cedarpy names by its parser id, sorted."""
        ids = []
        for parser_id in parser_ids:
            source = self.policies.source(parser_id)
            ids.append(source.policy_id if source else parser_id)
        return tuple(sorted(ids))

    def reason_of(self, parser_ids: Iterable[str]) -> str | None:
        """The @reason of every forbid that decided, in the order of their @id."""
        reasons = {}
        for parser_id in parser_ids:
            source = self.policies.source(parser_id)
            if source and source.annotations.get("reason"):
                reasons[source.policy_id] = source.annotations["reason"]
        return "; ".join(reasons[key] for key in sorted(reasons)) or None

    def bases(self, parser_ids: Iterable[str]) -> dict[str, list[str]]:
        """The parser ids of the permits that decided, by the legal basis each names."""
        by_basis: dict[str, list[str]] = {}
        for parser_id in parser_ids:
            source = self.policies.source(parser_id)
            if source is not None and "basis" in source.annotations:
                by_basis.setdefault(source.annotations["basis"], []).append(parser_id)
        return by_basis

    def run(self, requests: list[dict[str, Any]], entities: Any) -> list[Verdict]:
        results = cedarpy.is_authorized_batch(requests, self.policies.policy_set, entities)
        verdicts = []
        for result in results:
            errors = tuple(str(e) for e in result.diagnostics.errors)
            if errors:
                self.errors_seen += 1
                # An evaluation error is a denial (and a policy bug worth a log line).
                log.warning("policy evaluation error: %s", "; ".join(errors)[:500])
            verdicts.append(
                Verdict(
                    allowed=bool(result.allowed) and not errors,
                    parser_ids=tuple(result.diagnostics.reasons),
                    errors=errors,
                )
            )
        return verdicts

    def run_remembered(
        self, requests: list[dict[str, Any]], principal: Principal, entities: Any
    ) -> list[Verdict]:
        """``run``, answering from the memo what was already evaluated with the same input."""
        who = str(principal.id) if self._key_by_user else None
        keys = []
        for request in requests:
            resource = request["resource"]
            if resource["type"] == "Vault::Subject" and not self._key_by_subject:
                resource_key: tuple[str, str] = (resource["type"], "")
            else:
                resource_key = (resource["type"], resource["id"])
            keys.append(
                (
                    who,
                    str(principal.role),
                    request["action"]["id"],
                    resource_key,
                    tuple(sorted(request["context"].items())),
                )
            )
        verdicts: list[Verdict | None] = [self._memo.get(key) for key in keys]
        missing = [i for i, verdict in enumerate(verdicts) if verdict is None]
        if missing:
            fresh = self.run([requests[i] for i in missing], entities)
            for i, verdict in zip(missing, fresh, strict=True):
                verdicts[i] = verdict
                if not verdict.errors:  # an error is logged on each request that meets it
                    self._memo.put(keys[i], verdict)
        return [verdict for verdict in verdicts if verdict is not None]

    def matrix(self, action: str) -> dict[tuple[Role, Category], MatrixEntry]:
        """The role matrix, evaluated once: it depends on the role and category only."""
        pairs = [(role, category) for role in Role for category in Category]
        requests = [
            {
                "principal": uid("Role", role.value),
                "action": action_uid(action),
                "resource": uid("Category", category.value),
                "context": {},
            }
            for role, category in pairs
        ]
        verdicts = self.run(requests, [])
        verb = "read" if action == "category.read" else "write"
        matrix = {}
        for (role, category), verdict in zip(pairs, verdicts, strict=True):
            allowed = verdict.allowed and role not in NO_CONTENT_ROLES
            matrix[(role, category)] = MatrixEntry(
                allowed=allowed,
                policy_ids=self.ids(verdict.parser_ids),
                reason="" if allowed else f"role {role.value} may not {verb} category {category}",
            )
        return matrix
