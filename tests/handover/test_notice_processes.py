"""Withdrawal notices signed by two ``vault`` processes at once: each notice is signed and
audited once, and every ``handover.notice`` event's number is a kept notice's cursor (no
gap a recipient's poll could step over)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlmodel import col, select

from tests.hardening.processes import vault_env
from vault.audit.models import AuditRow
from vault.config import Settings
from vault.handover.models import HandoverExport, HandoverNoticeSent
from vault.services import build_services
from vault.vocabulary import EventAction

ROOT = Path(__file__).resolve().parents[2]
DUE = 3


def test_two_processes_sign_each_notice_once_and_leave_no_gap(settings: Settings) -> None:
    """Two processes publish the same due notices at the same moment: one signs them, the
    other finds them kept; the audit log holds one notice event per kept notice."""
    services = build_services(settings, migrate=True)
    try:
        now = services.clock()
        with services.db.session() as session:
            for _ in range(DUE):  # bundles of consents that no longer exist: notices due
                session.add(
                    HandoverExport(
                        bundle_id=uuid.uuid4(),
                        subject_id=uuid.uuid4(),
                        consent_id=uuid.uuid4(),
                        sender="rutan-jakpus",
                        recipient="sentra-handayani",
                        exported_at=now,
                    )
                )
        start_at = time.time() + 4.0
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.handover.notice_race", str(start_at)],
                cwd=ROOT,
                env=vault_env(settings),
            )
            for _ in range(2)
        ]
        assert [worker.wait(timeout=120) for worker in workers] == [0, 0]
        with services.db.read_session() as session:
            kept = sorted(session.exec(select(HandoverNoticeSent.seq)).all())
            audited = sorted(
                session.exec(
                    select(AuditRow.seq).where(
                        col(AuditRow.action) == EventAction.HANDOVER_NOTICE.value
                    )
                ).all()
            )
        assert len(kept) == DUE
        assert audited == kept
    finally:
        services.close()
