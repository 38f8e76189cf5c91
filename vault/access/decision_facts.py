"""``DecisionFacts``: what a decision's context says, checked against the principal and resource.

The caller of ``decide()`` gathers the facts (assignment, consents, break-glass
grant); this keeps only those that concern this principal and this subject
now, and turns them into the Cedar contexts (``SubjectFacts``,
``CategoryFacts`` of ``policies/vault.cedarschema``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from vault.vocabulary import (
    EMERGENCY_PURPOSE,
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

STATUTORY_PURPOSE = "administration"
# Actions whose resource may carry no organisation (the caller's own is meant).
OWN_ORG_BY_DEFAULT = frozenset({Action.REGISTER_SUBJECT, Action.SEARCH_SUBJECT})


@dataclass(frozen=True)
class DecisionFacts:
    """What the context says, checked against the principal and the resource."""

    principal: Principal
    subject_id: uuid.UUID | None
    purpose: str
    assigned: bool
    same_org: bool
    consents: tuple[ConsentGrant, ...]  # active, unexpired, of this subject
    grant: BreakGlassGrant | None  # active, of this user and subject, under "emergency"

    @classmethod
    def gather(
        cls, principal: Principal, action: Action, resource: Resource, context: DecisionContext
    ) -> DecisionFacts:
        now = context.now
        organization = resource.organization
        if organization is None and action in OWN_ORG_BY_DEFAULT:
            organization = principal.organization
        consents = tuple(
            grant
            for grant in context.consents
            if grant.subject_id == resource.subject_id
            and (grant.expires_at is None or grant.expires_at > now)
        )
        grant = context.break_glass
        if not (
            grant is not None
            and context.purpose == EMERGENCY_PURPOSE
            and grant.user_id == principal.id
            and grant.subject_id == resource.subject_id
            and grant.expires_at > now
        ):
            grant = None
        return cls(
            principal=principal,
            subject_id=resource.subject_id,
            purpose=context.purpose or "",
            assigned=bool(context.assigned),
            same_org=organization is not None and organization == principal.organization,
            consents=consents,
            grant=grant,
        )

    def subject_context(self) -> dict[str, Any]:
        recipient = any(self.principal.organization in c.recipients for c in self.consents)
        return {
            "purpose": self.purpose,
            "assigned": self.assigned,
            "break_glass": self.grant is not None,
            "same_org": self.same_org,
            "consent_recipient": recipient,
        }

    def category_context(self, category: Category) -> dict[str, Any]:
        return {
            "purpose": self.purpose,
            "consent_covers": self.covering_consent(category) is not None,
            "break_glass": self.grant is not None,
            "same_org": self.same_org,
        }

    def covering_consent(self, category: Category) -> ConsentGrant | None:
        if not self.purpose or self.purpose == EMERGENCY_PURPOSE:
            return None
        covering = [
            c
            for c in self.consents
            if c.purpose == self.purpose
            and category in c.categories
            and self.principal.organization in c.recipients
        ]
        return min(covering, key=lambda c: str(c.consent_id), default=None)

    def basis_holds(self, basis: str, category: Category) -> bool:
        if basis == "consent":
            return self.covering_consent(category) is not None
        if basis == "break_glass":
            return self.grant is not None
        if basis == "statutory_identity":
            return (
                category is Category.IDENTITY
                and Role(self.principal.role) is Role.OFFICER
                and self.same_org
                and self.purpose == STATUTORY_PURPOSE
            )
        return False
