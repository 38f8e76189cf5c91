"""`vault demo`: synthetic data that shows the vault's rules at work."""

from __future__ import annotations

from litestar.testing import TestClient
from sqlmodel import col, select

from tests.support import login
from vault.app import create_app
from vault.bootstrap import initialise
from vault.config import Settings
from vault.demo import load_demo
from vault.records.models import Record
from vault.services import build_services
from vault.subjects.models import Subject


def test_demo_loads_once_and_prints_every_login(settings: Settings) -> None:
    """The first load prints a password for each demo user; a second load changes nothing."""
    initialise(settings)
    services = build_services(settings)
    try:
        lines = load_demo(services)
        assert lines is not None
        logins = [line.split() for line in lines if line.startswith("  ") and ".rutan" in line]
        assert {fields[1] for fields in logins} >= {
            "admin",
            "officer",
            "counselor",
            "social_worker",
            "health_officer",
            "compliance_officer",
        }
        assert load_demo(services) is None
        with services.db.read_session() as session:
            # Three demo subjects and one honeytoken decoy.
            assert len(session.exec(select(Subject)).all()) == 4
    finally:
        services.close()


def test_demo_reads_follow_each_subjects_consent(settings: Settings) -> None:
    """The health officer reads NAPZA data only of the subject who consented to treatment."""
    initialise(settings)
    services = build_services(settings)
    try:
        lines = load_demo(services)
        assert lines is not None
        password = next(line.split()[-1] for line in lines if "health.rutan" in line)
        with services.db.read_session() as session:
            health_records = {
                row.subject_id: row.id
                for row in session.exec(
                    select(Record).where(col(Record.record_type) == "health_napza")
                )
            }
        with TestClient(create_app(settings, services)) as client:
            headers = login(client, "health.rutan", password)
            outcomes = []
            for subject_id, record_id in health_records.items():
                response = client.get(
                    f"/v1/subjects/{subject_id}/records/{record_id}",
                    params={"purpose": "health_treatment"},
                    headers=headers,
                )
                assert response.status_code == 200, response.text
                outcomes.append(bool(response.json()["fields"]))
        # Only the first demo subject consented to health treatment.
        assert sorted(outcomes) == [False, False, True]
    finally:
        services.close()


def test_demo_sentra_reads_only_under_the_handover(settings: Settings) -> None:
    """The sentra's social worker reads Budi's family data for the handover, not Sari's."""
    initialise(settings)
    services = build_services(settings)
    try:
        lines = load_demo(services)
        assert lines is not None
        password = next(line.split()[-1] for line in lines if "socialworker.sentra" in line)
        with services.db.read_session() as session:
            family = [
                (row.subject_id, row.id)
                for row in session.exec(
                    select(Record).where(col(Record.record_type) == "family_data")
                )
            ]
        with TestClient(create_app(settings, services)) as client:
            headers = login(client, "socialworker.sentra", password)
            codes = sorted(
                client.get(
                    f"/v1/subjects/{subject_id}/records/{record_id}",
                    params={"purpose": "handover_kemensos"},
                    headers=headers,
                ).status_code
                for subject_id, record_id in family
            )
        # Budi agreed to the handover; Sari and Andi did not, so the sentra cannot see them.
        assert codes == [200, 404, 404]
    finally:
        services.close()
