"""Registering a subject and finding one by NIK or register number (blind index).

A NIK or register number held by another organisation is no reason to refuse:
the answer would tell an officer that the person is held elsewhere. The
subject is registered in the officer's organisation (the blind index is unique
only within one organisation) and the overlap is audited for both sides'
compliance officers.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from vault.audit.events import AuditEvent, Outcome
from vault.crypto.keys import DataKey
from vault.errors import Conflict, Forbidden, InvalidInput
from vault.subjects.gate import SubjectsBase
from vault.subjects.models import Subject
from vault.vocabulary import Action, DecisionContext, EventAction, Principal, Resource

OLDEST_BIRTH = date(1900, 1, 1)


@dataclass(frozen=True)
class NewSubject:
    full_name: str
    nik: str
    register_number: str
    date_of_birth: date
    organization: str

    def __repr__(self) -> str:  # identifiers never reach a log through repr
        return f"NewSubject(organization={self.organization!r})"


@dataclass(frozen=True)
class PreparedSubject:
    """A registration checked and audited, not yet written (``write_registration``)."""

    subject_id: uuid.UUID
    record_id: uuid.UUID
    organization: str
    nik_index: str
    register_index: str
    niks: tuple[str, ...]
    registers: tuple[str, ...]
    identity: Mapping[str, str]

    def __repr__(self) -> str:  # identifiers never reach a log through repr
        return f"PreparedSubject(subject_id={self.subject_id!s})"


@dataclass(frozen=True)
class _Holders:
    """Who else holds a subject with the same NIK or register number (live ones only)."""

    same_org: bool
    nik_elsewhere: tuple[uuid.UUID, ...]
    register_elsewhere: tuple[uuid.UUID, ...]


def _holders(
    session: Session, organization: str, niks: tuple[str, ...], registers: tuple[str, ...]
) -> _Holders:
    """``niks``, ``registers``: the digests of each identifier under every index version in
    use (a rebuild of the index may be under way)."""
    rows = session.execute(
        select(
            col(Subject.id),
            col(Subject.organization),
            col(Subject.nik_index),
            col(Subject.register_index),
        ).where(
            col(Subject.nik_index).in_(niks) | col(Subject.register_index).in_(registers),
            col(Subject.erased_at).is_(None),
        )
    ).all()
    elsewhere = [row for row in rows if row.organization != organization]
    return _Holders(
        same_org=len(elsewhere) < len(rows),
        nik_elsewhere=tuple(row.id for row in elsewhere if row.nik_index in niks),
        register_elsewhere=tuple(row.id for row in elsewhere if row.register_index in registers),
    )


class Registration(SubjectsBase):
    def _check_date_of_birth(self, born: date) -> None:
        if not OLDEST_BIRTH <= born <= self.clock().date():
            raise InvalidInput(
                f"date_of_birth: must be between {OLDEST_BIRTH.isoformat()} and today"
            )

    def _require(self, principal: Principal, action: Action, organization: str) -> None:
        decision = self.policy.decide(
            principal,
            action,
            Resource(kind="subject", organization=organization),
            DecisionContext(
                purpose=None, assigned=False, consents=(), break_glass=None, now=self.clock()
            ),
        )
        if not decision.allowed:
            self.audit.append(self.refusal(principal, action, None, decision))
            raise Forbidden(f"Not allowed: {decision.reason}")

    def register(self, principal: Principal, new: NewSubject) -> uuid.UUID:
        """An officer registers a subject into their own organisation; returns its id."""
        prepared = self.prepare_registration(principal, new)
        with self.db.session() as session:
            self.write_registration(session, principal, prepared)
        return prepared.subject_id

    def prepare_registration(self, principal: Principal, new: NewSubject) -> PreparedSubject:
        """Every check and audit event of a registration, nothing written yet.

        ``write_registration`` then writes it inside the caller's transaction (an
        import writes the subject and its handed-over records in one)."""
        self._require(principal, Action.REGISTER_SUBJECT, new.organization)
        self._check_date_of_birth(new.date_of_birth)
        identity = self.records.validate_identity(
            {
                "full_name": new.full_name,
                "nik": new.nik,
                "register_number": new.register_number,
                "date_of_birth": new.date_of_birth.isoformat(),
            }
        )
        nik_index = self.blind_index.digest("nik", new.nik)
        register_index = self.blind_index.digest("register_number", new.register_number)
        niks = self.blind_index.lookups("nik", new.nik)
        registers = self.blind_index.lookups("register_number", new.register_number)
        with self.db.read_session() as session:
            holders = _holders(session, new.organization, niks, registers)
        if holders.same_org:
            # Tells the officer nothing new: their own organisation holds the person.
            self.audit.append(
                AuditEvent.by(
                    principal,
                    EventAction.SUBJECT_REGISTER,
                    Outcome.DENY,
                    reason="already registered in this organisation",
                )
            )
            raise Conflict("A subject with this NIK or register number is already registered.")
        subject_id, record_id = uuid.uuid4(), uuid.uuid4()
        # Audit before the write: on SQLite the write session holds the only write lock.
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.SUBJECT_REGISTER,
                Outcome.ALLOW,
                subject_id=subject_id,
                target_id=record_id,
                categories=("identity",),
                details={
                    "nik_held_elsewhere": bool(holders.nik_elsewhere),
                    "register_number_held_elsewhere": bool(holders.register_elsewhere),
                },
            )
        )
        # Filed under the other organisation's subject, for its compliance officers:
        # someone elsewhere registered a person with the same identifier.
        for other in sorted(set(holders.nik_elsewhere + holders.register_elsewhere)):
            self.audit.append(
                AuditEvent.by(
                    principal,
                    EventAction.SUBJECT_REGISTER,
                    Outcome.INFO,
                    subject_id=other,
                    details={
                        "registered_elsewhere": True,
                        "nik_matches": other in holders.nik_elsewhere,
                        "register_number_matches": other in holders.register_elsewhere,
                    },
                )
            )
        return PreparedSubject(
            subject_id=subject_id,
            record_id=record_id,
            organization=new.organization,
            nik_index=nik_index,
            register_index=register_index,
            niks=niks,
            registers=registers,
            identity=identity,
        )

    def write_registration(
        self, session: Session, principal: Principal, prepared: PreparedSubject
    ) -> DataKey:
        """Write a prepared subject, its data key and identity record in ``session``."""
        if _holders(session, prepared.organization, prepared.niks, prepared.registers).same_org:
            raise Conflict("A subject with this NIK or register number is already registered.")
        session.add(
            Subject(
                id=prepared.subject_id,
                organization=prepared.organization,
                nik_index=prepared.nik_index,
                register_index=prepared.register_index,
                pin_hash=None,  # the subject chooses it at the kiosk
                identity_record_id=prepared.record_id,
            )
        )
        session.flush()
        dek: DataKey = self.subject_keys.create(session, prepared.subject_id)
        self.records.write_identity(
            session, dek, principal, prepared.subject_id, prepared.record_id, prepared.identity
        )
        return dek

    def find(
        self, principal: Principal, *, nik: str | None, register_number: str | None
    ) -> list[uuid.UUID]:
        """Equality search through the blind index, within the caller's organisation."""
        self._require(principal, Action.SEARCH_SUBJECT, principal.organization)
        if nik is not None and register_number is None:
            condition = col(Subject.nik_index).in_(self.blind_index.lookups("nik", nik))
            by = "nik"
        elif register_number is not None and nik is None:
            condition = col(Subject.register_index).in_(
                self.blind_index.lookups("register_number", register_number)
            )
            by = "register_number"
        else:
            raise InvalidInput("give exactly one of nik or register_number")
        with self.db.read_session() as session:
            ids = list(
                session.execute(
                    select(col(Subject.id)).where(
                        condition,
                        col(Subject.organization) == principal.organization,
                        col(Subject.erased_at).is_(None),
                    )
                ).scalars()
            )
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.SUBJECT_SEARCH,
                Outcome.ALLOW,
                details={"by": by, "found": len(ids)},
            )
        )
        if self.on_touch is not None and ids:
            self.on_touch(principal, ids, EventAction.SUBJECT_SEARCH.value)
        return ids
