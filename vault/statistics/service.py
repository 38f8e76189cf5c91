"""``StatisticsService``: outcome statistics of one organisation, k-anonymous.

Only subjects with an active consent to ``statistics`` (covering the program
category) are counted, read afresh at every computation: a withdrawal takes
effect on the next one, and a subject who never consented is never read. A
subject counts once, by their latest ``program_outcome`` record (by end date);
the period is the year the program ended. The cells are suppressed below
``k`` subjects with complementary suppression (``vault.statistics.tables``).
Decided by the policy (``statistics.read``); no record content leaves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from vault.audit.events import AuditEvent, AuditSink, Outcome
from vault.consent.service import ConsentService
from vault.db import Database
from vault.errors import Forbidden
from vault.records.catalog import Catalog
from vault.records.fieldcrypt import open_record
from vault.records.rows import ciphertexts, record_rows
from vault.statistics.tables import Outcome as ProgramOutcome
from vault.statistics.tables import csv_text, tabulate
from vault.subjects.models import Subject
from vault.vocabulary import Action, Category, EventAction, OperationFacts, Principal

__all__ = ["OUTCOME_RECORD_TYPE", "STATISTICS_PURPOSE", "StatisticsService"]

STATISTICS_PURPOSE = "statistics"
OUTCOME_RECORD_TYPE = "program_outcome"
_OUTCOME_FIELDS = ("program", "ended_on", "completed", "employed_6m", "reoffended_12m")


@dataclass
class StatisticsService:
    db: Database
    clock: Callable[[], datetime]
    audit: AuditSink
    policy: Any  # vault.access.engine.PolicyEngine (authorize)
    consents: ConsentService
    subject_keys: Any  # vault.keys.service.SubjectKeys
    catalog: Catalog
    k: int = 5

    def outcomes(self, principal: Principal) -> dict[str, Any]:
        """The organisation's outcome table, as released to ``principal``."""
        organization = principal.organization
        decision = self.policy.authorize(
            principal, Action.READ_STATISTICS, OperationFacts(target_org=organization)
        )
        if not decision.allowed:
            self.audit.append(
                AuditEvent.by(
                    principal, EventAction.STATISTICS_READ, Outcome.DENY, reason=decision.reason
                )
            )
            raise Forbidden(f"Not allowed to read statistics: {decision.reason}")
        now = self.clock()
        cells = tabulate(self.counted(organization, now), self.k)
        self.audit.append(
            AuditEvent.by(
                principal,
                EventAction.STATISTICS_READ,
                Outcome.ALLOW,
                purpose=STATISTICS_PURPOSE,
                details={"k": self.k, "released_cells": sum(not c["suppressed"] for c in cells)},
            )
        )
        return {
            "organization": organization,
            "k": self.k,
            "computed_at": now.isoformat().replace("+00:00", "Z"),
            "cells": cells,
        }

    def outcomes_csv(self, principal: Principal) -> str:
        return csv_text(self.outcomes(principal)["cells"])

    def counted(self, organization: str, now: datetime) -> list[ProgramOutcome]:
        """One outcome per consenting subject of the organisation that has one."""
        with self.db.read_session() as session:
            subject_ids = list(
                session.exec(
                    select(Subject.id).where(
                        col(Subject.organization) == organization, col(Subject.erased_at).is_(None)
                    )
                ).all()
            )
            found = []
            for subject_id in subject_ids:
                if not self._consented(subject_id, now, session):
                    continue
                outcome = self._latest_outcome(session, subject_id)
                if outcome is not None:
                    found.append(outcome)
        return found

    def _consented(self, subject_id: uuid.UUID, now: datetime, session: Any) -> bool:
        return any(
            grant.purpose == STATISTICS_PURPOSE and Category.PROGRAM in grant.categories
            for grant in self.consents.active_consents(subject_id, now, session)
        )

    def _latest_outcome(self, session: Any, subject_id: uuid.UUID) -> ProgramOutcome | None:
        rows = [
            r
            for r in record_rows(session, subject_id)
            if r.record_type == OUTCOME_RECORD_TYPE and r.superseded_at is None
        ]
        if not rows:
            return None
        dek = self.subject_keys.data_key(session, subject_id)
        best: dict[str, str] | None = None
        for record in rows:
            stored = ciphertexts(session, record.id)
            wanted = [n for n in _OUTCOME_FIELDS if n in stored]
            fields = open_record(dek, subject_id, record, stored, wanted)
            if not all(n in fields for n in _OUTCOME_FIELDS):
                continue
            if best is None or fields["ended_on"] > best["ended_on"]:
                best = fields
        if best is None:
            return None
        return ProgramOutcome(
            program=best["program"],
            period=best["ended_on"][:4],
            completed=best["completed"] == "yes",
            employed_6m=best["employed_6m"] == "yes",
            reoffended_12m=best["reoffended_12m"] == "yes",
        )
