"""Accounting of disclosures for one subject: the report's content and its digest.

The content is every allowed read of the subject's records (``AuditQueries.
disclosures``): who, when, which categories, for which purpose, under which
consent or break-glass grant. Its digest (SHA-256 of the canonical JSON of the
subject id, the time it was made and the rows) is printed on the report and
recorded in the audit log (``audit.disclosures``, detail ``report_sha256``), so a
printed copy can later be checked against the log.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from vault.audit.queries import AuditQueries
from vault.db import Database

__all__ = ["DisclosureReport", "disclosure_report"]


@dataclass(frozen=True)
class DisclosureReport:
    subject_id: uuid.UUID
    made_at: datetime
    rows: list[dict[str, Any]]
    sha256: str

    @property
    def seqs(self) -> list[int]:
        """The audit sequence numbers of the listed reads (what their proofs name)."""
        return [int(row["seq"]) for row in self.rows]


def _digest(subject_id: uuid.UUID, made_at: datetime, rows: list[dict[str, Any]]) -> str:
    document = {"subject_id": str(subject_id), "made_at": made_at.isoformat(), "rows": rows}
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def disclosure_report(db: Database, subject_id: uuid.UUID, now: datetime) -> DisclosureReport:
    """The report of every disclosure of the subject, with its digest (not yet recorded)."""
    rows = AuditQueries(db).disclosures(subject_id)
    return DisclosureReport(subject_id, now, rows, _digest(subject_id, now, rows))
