"""An import is one transaction: a failure in the middle leaves nothing of the bundle."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.handover.handover_support import FAMILY, Pair
from vault.handover.models import HandoverImport, HandoverProvenance


class Crash(Exception):
    """The failure the test injects in the middle of an import."""


def _handover_rows(pair: Pair) -> tuple[int, int]:
    with pair.sentra.db.read_session() as session:
        imports = session.execute(select(func.count()).select_from(HandoverImport)).scalar_one()
        origins = session.execute(select(func.count()).select_from(HandoverProvenance)).scalar_one()
    return int(imports), int(origins)


def test_a_failure_after_the_subject_is_written_leaves_nothing(
    pair: Pair, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The writer fails on the first record after the identity: no subject, no record, no
    import or provenance row is left, and the same bundle then imports whole."""
    pair.world.create_record("social_worker", "family_data", FAMILY)
    pair.consent_to_handover()
    bundle = pair.export()
    before = pair.stored_counts()
    writer = pair.sentra.handover.writer
    real_write = writer.write

    calls: list[str] = []

    def crash(*args: Any, **kwargs: Any) -> Any:
        calls.append(args[4])
        if len(calls) > 1:
            raise Crash("the disk is gone")
        return real_write(*args, **kwargs)

    monkeypatch.setattr(writer, "write", crash)
    with pytest.raises(Crash):
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    assert calls == ["identity", "family_data"]
    assert pair.stored_counts() == before
    assert _handover_rows(pair) == (0, 0)
    monkeypatch.setattr(writer, "write", real_write)
    pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    subjects, records = pair.stored_counts()
    assert subjects == before[0] + 1
    assert records == before[1] + 2
    assert _handover_rows(pair) == (1, 2)
