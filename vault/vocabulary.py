"""The vocabulary every capability shares: roles, categories, purposes, actions, principals.

It sits below every capability and imports none of them (nor the database, nor
HTTP). ``decide(principal, action, resource, context)`` and
``authorize(principal, action, facts)`` (``vault.access.engine``) take these
and return a :class:`Decision`; callers gather the facts (assignment, active
consents, break-glass grant, organisation of the target) and the engine only
judges them. Audit event names are :class:`EventAction`, defined once here.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol


class Role(StrEnum):
    COUNSELOR = "counselor"
    SOCIAL_WORKER = "social_worker"
    HEALTH_OFFICER = "health_officer"
    OFFICER = "officer"
    COMPLIANCE_OFFICER = "compliance_officer"
    ADMIN = "admin"
    # A program evaluator: reads the k-anonymous outcome statistics, nothing else.
    EVALUATOR = "evaluator"


class Category(StrEnum):
    """Data categories of record fields (``policies/catalog.toml`` names one per field)."""

    IDENTITY = "identity"
    PSYCHOLOGICAL = "psychological"
    FAMILY = "family"
    HEALTH_SENSITIVE = "health_sensitive"
    PROGRAM = "program"


class Action(StrEnum):
    """What a principal asks to do: every gate of the vault is one of these (Cedar actions)."""

    # About one subject's records (decided with SubjectFacts, see ``decide``).
    REGISTER_SUBJECT = "subject.register"
    SEARCH_SUBJECT = "subject.search"
    CREATE_RECORD = "record.create"
    LIST_RECORDS = "record.list"
    READ_RECORD = "record.read"
    BREAK_GLASS = "break_glass.open"
    WITNESS_CONSENT = "consent.witness"
    MANAGE_ASSIGNMENTS = "assignment.manage"  # an operation: decided with ``authorize``
    END_ASSIGNMENT = "assignment.end"  # an operation: decided with ``authorize``
    # Operations (decided with OperationFacts, see ``authorize``).
    CREATE_USER = "user.create"
    APPROVE_USER = "user.approve"
    DISABLE_USER = "user.disable"
    VIEW_USERS = "user.view"
    LIST_BREAK_GLASS = "break_glass.list"
    REVIEW_BREAK_GLASS = "break_glass.review"
    UNBLOCK_BREAK_GLASS = "break_glass.unblock"
    READ_AUDIT = "audit.read"
    OPEN_DASHBOARD = "dashboard.open"
    ACKNOWLEDGE_ALERT = "audit.alert_acknowledge"
    VIEW_SUBJECT = "subject.view"
    SET_SUBJECT_STATUS = "subject.status"
    SET_LEGAL_HOLD = "subject.legal_hold"
    APPROVE_ERASURE = "subject.erasure_approve"
    ERASE_SUBJECT = "subject.erase"
    CORRECT_RECORD = "record.correct"
    VIEW_CONSENTS = "consent.view"
    WITHDRAW_CONSENT = "consent.withdraw"
    OPEN_KIOSK = "kiosk.open"
    APPROVE_PIN_RESET = "pin.reset_approve"
    # Asked at login: must this account give a second factor when VAULT_REQUIRE_MFA is on?
    REQUIRE_SECOND_FACTOR = "login.second_factor"
    HANDOVER_EXPORT = "handover.export"
    HANDOVER_IMPORT = "handover.import"
    HANDOVER_READ = "handover.read"
    HANDOVER_POLL = "handover.poll"
    READ_STATISTICS = "statistics.read"
    # The periodic access review (``vault.workbench.review``).
    CONFIRM_ACCESS = "access_review.confirm"
    END_ACCESS = "access_review.end"


class EventAction(StrEnum):
    """The name of every audit event the vault records, defined once."""

    AUTH_LOGIN = "auth.login"
    AUTH_LOGOUT = "auth.logout"
    ORGANIZATION_CREATE = "organization.create"
    USER_CREATE = "user.create"
    USER_APPROVE = "user.approve"
    USER_DISABLE = "user.disable"
    USER_MFA_ENROL = "user.mfa_enrol"
    USER_ACTIVATE = "user.activate"
    POLICY_LOAD = "policy.load"
    SUBJECT_REGISTER = "subject.register"
    SUBJECT_SEARCH = "subject.search"
    SUBJECT_LOOKUP = "subject.lookup"
    SUBJECT_STATUS = "subject.status"
    SUBJECT_LEGAL_HOLD = "subject.legal_hold"
    SUBJECT_ERASURE_APPROVE = "subject.erasure_approve"
    SUBJECT_ERASE = "subject.erase"
    SUBJECT_EXPORT = "subject.export"
    RECORD_CREATE = "record.create"
    RECORD_CORRECT = "record.correct"
    RECORD_LIST = "record.list"
    RECORD_READ = "record.read"
    ASSIGNMENT_CREATE = "assignment.create"
    ASSIGNMENT_END = "assignment.end"
    BREAK_GLASS_OPEN = "break_glass.open"
    BREAK_GLASS_LIST = "break_glass.list"
    BREAK_GLASS_REVIEW = "break_glass.review"
    BREAK_GLASS_UNBLOCK = "break_glass.unblock"
    CONSENT_SIGN = "consent.sign"
    CONSENT_GRANT = "consent.grant"
    CONSENT_REFUSE = "consent.refuse"
    CONSENT_WITHDRAW = "consent.withdraw"
    CONSENT_SUPERSEDE = "consent.supersede"
    CONSENT_EXPIRE = "consent.expire"
    CONSENT_RECEIPT = "consent.receipt"
    CONSENT_PIN_FAILED = "consent.pin_failed"
    PIN_SET = "consent.pin_set"
    PIN_RESET_REQUEST = "consent.pin_reset_request"
    PIN_RESET_APPROVE = "consent.pin_reset_approve"
    PIN_RESET_LIST = "consent.pin_reset_list"
    PIN_DISOWNED = "consent.pin_disowned"
    GUARDIAN_ENROL = "consent.guardian_enrol"
    GUARDIAN_PIN_FAILED = "consent.guardian_pin_failed"
    AGE_CHECK = "consent.age_check"
    KIOSK_OPEN = "kiosk.open"
    KIOSK_END = "kiosk.end"
    KEY_SUBJECT_ROTATE = "key.subject_rotate"
    KEY_RETIRE = "key.retire"
    KEY_ROTATION_START = "key.rotation.start"
    KEY_ROTATION_DONE = "key.rotation.done"
    KEY_SIGNING_ROTATE = "key.signing.rotate"
    KEY_SIGNING_RETIRE = "key.signing.retire"
    KEY_SIGNING_REVOKE = "key.signing.revoke"
    AUDIT_QUERY = "audit.query"
    AUDIT_EXPORT = "audit.export"
    AUDIT_VERIFY = "audit.verify"
    AUDIT_CHECKPOINTS = "audit.checkpoints"
    AUDIT_DISCLOSURES = "audit.disclosures"
    AUDIT_CONSENT_CHECK = "audit.consent_check"
    AUDIT_ACCESS_CHECK = "audit.access_check"
    AUDIT_HEAD_REFUSED = "audit.head_refused"
    AUDIT_HEAD_RESUMED = "audit.head_resumed"
    AUDIT_PROOF = "audit.proof"
    AUDIT_HEAD_COSIGNED = "audit.head_cosigned"
    HANDOVER_TRUST = "handover.trust"
    HANDOVER_EXPORT = "handover.export"
    HANDOVER_IMPORT = "handover.import"
    HANDOVER_NOTICE = "handover.notice"
    HANDOVER_WITHDRAWAL = "handover.withdrawal"
    HANDOVER_READ = "handover.read"
    HANDOVER_POLL = "handover.poll"
    STATISTICS_READ = "statistics.read"
    AUDIT_ALERTS = "audit.alerts"
    AUDIT_ALERT_ACKNOWLEDGE = "audit.alert_acknowledge"
    HONEYTOKEN_HIT = "honeytoken.hit"
    HONEYTOKEN_PLANT = "honeytoken.plant"
    ACCESS_REVIEW_CONFIRM = "access_review.confirm"
    ACCESS_REVIEW_END = "access_review.end"
    ACCESS_REVIEW_OVERDUE = "access_review.overdue"


EMERGENCY_PURPOSE = "emergency"


@dataclass(frozen=True)
class Principal:
    id: uuid.UUID
    role: Role
    organization: str


@dataclass(frozen=True)
class AuthenticatedUser:
    """A staff member whose bearer token or browser session was accepted for this request."""

    id: uuid.UUID
    username: str
    role: str
    organization: str
    token_id: uuid.UUID

    def principal(self) -> Principal:
        return Principal(id=self.id, role=Role(self.role), organization=self.organization)


@dataclass(frozen=True)
class OperationFacts:
    """What the policies know about an operation that releases no record content.

    Every field is a fact the caller gathered from the store; the Cedar policies
    (``policies/*.cedar``, context type ``OperationFacts``) decide with them.
    ``target_org`` is the organisation the target belongs to (an account, a
    subject, a grant, an event filter): ``same_org`` compares it with the
    principal's own.
    """

    target_org: str | None = None
    # The target is the principal itself (its own account, its own grant).
    on_self: bool = False
    # The target (an account, a request, a grant) was created by the principal,
    # or by whoever created the principal: the same person, for the two-person rule.
    created_by_principal: bool = False
    # The role of the account the operation is about ("" when it is about none).
    target_role: str = ""
    # An active consent names the principal's organisation as a recipient.
    consent_recipient: bool = False
    # The organisation of the account the operation is about, when it differs from
    # the target's (a care-team member of a subject: the subject is the target).
    account_org: str | None = None
    # The principal is on the subject's care team (an active assignment the audit log
    # attests); only gates that read what was handed over ask for it.
    assigned: bool = False

    def context(self, principal: Principal) -> dict[str, object]:
        return {
            "same_org": self.target_org is not None and self.target_org == principal.organization,
            "on_self": self.on_self,
            "created_by_principal": self.created_by_principal,
            "target_role": self.target_role,
            "consent_recipient": self.consent_recipient,
            "account_same_org": self.account_org is not None
            and self.account_org == principal.organization,
            "assigned": self.assigned,
        }


@dataclass(frozen=True)
class Resource:
    kind: str  # "subject", "record", "consent", "user", "audit"
    subject_id: uuid.UUID | None = None
    organization: str | None = None  # the organisation holding the subject
    record_type: str | None = None
    categories: frozenset[Category] = frozenset()


@dataclass(frozen=True)
class ConsentGrant:
    """One granted purpose of one active consent (a consent with three purposes is three grants)."""

    consent_id: uuid.UUID
    subject_id: uuid.UUID
    purpose: str
    categories: frozenset[Category]
    recipients: frozenset[str]  # organisation codes allowed to receive the data
    expires_at: datetime | None


@dataclass(frozen=True)
class BreakGlassGrant:
    id: uuid.UUID
    user_id: uuid.UUID
    subject_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class DecisionContext:
    purpose: str | None
    assigned: bool
    consents: Sequence[ConsentGrant]
    break_glass: BreakGlassGrant | None
    now: datetime


@dataclass(frozen=True)
class Decision:
    """What the engine decided.

    ``allowed`` is the decision for the action as a whole. For reads,
    ``categories`` are the field categories that may be decrypted and
    ``withheld`` names each category of the resource that may not, with the
    reason (minimum necessary: the rest of the record is still returned).
    ``consent_id`` / ``break_glass_id`` name what allowed the release of the key.
    """

    allowed: bool
    policy_ids: tuple[str, ...]
    reason: str
    categories: frozenset[Category] = frozenset()
    withheld: Mapping[Category, str] = field(default_factory=dict)
    consent_id: uuid.UUID | None = None
    break_glass_id: uuid.UUID | None = None


class ConsentProvider(Protocol):
    """The consent capability, as the access and records capabilities see it."""

    def active_consents(self, subject_id: uuid.UUID, now: datetime) -> Sequence[ConsentGrant]:
        """Every granted purpose of the subject's consents active at ``now``."""
        ...


class PolicyDecider(Protocol):
    """The policy engine (``vault.access.engine.PolicyEngine``) as every capability sees it:
    ``decide`` for record reads and writes (and subject registration and search),
    ``authorize`` for every other operation."""

    def decide(
        self, principal: Principal, action: Action, resource: Resource, context: DecisionContext
    ) -> Decision: ...

    def authorize(
        self,
        principal: Principal,
        action: Action,
        facts: OperationFacts,
        subject_id: uuid.UUID | None = None,
    ) -> Decision: ...
