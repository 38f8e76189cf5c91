"""``vault.audit.report``: a subject's accounting of disclosures and the seqs its proofs name."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from vault.audit.report import DisclosureReport, _digest

SUBJECT = uuid.UUID(int=9)
MADE = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
ROWS = [{"seq": 12, "purpose": "counseling"}, {"seq": 40, "purpose": "health_treatment"}]


def test_the_report_names_the_seqs_of_its_reads_in_order() -> None:
    """The proofs asked for are those of exactly the listed reads, in the report's order."""
    report = DisclosureReport(SUBJECT, MADE, ROWS, _digest(SUBJECT, MADE, ROWS))
    assert report.seqs == [12, 40]
    assert DisclosureReport(SUBJECT, MADE, [], _digest(SUBJECT, MADE, [])).seqs == []


def test_the_digest_changes_with_any_row() -> None:
    """A printed copy with one purpose changed no longer matches the digest in the log."""
    changed = [ROWS[0], {"seq": 40, "purpose": "statistics"}]
    assert _digest(SUBJECT, MADE, ROWS) == _digest(SUBJECT, MADE, list(ROWS))
    assert _digest(SUBJECT, MADE, ROWS) != _digest(SUBJECT, MADE, changed)
