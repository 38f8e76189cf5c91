"""Two vault instances for the handover tests: the prison's (the HTTP world) and a
sentra's (its own database and keyring), each trusting the other's published keys.
A helper module, not a test module."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import make_settings
from tests.support import create_user, ensure_organization
from tests.world import SUBJECT_PIN, World
from vault.bootstrap import initialise
from vault.services import Services, build_services
from vault.vocabulary import Principal, Role

PRISON = "rutan-jakpus"
SENTRA = "sentra-handayani"
FAMILY = {
    "family_members": "CANARY-FAMILY-91bd: mother, two younger brothers",
    "contact_person": "Ibu Sari, 0812-0000-0000",
}
HEALTH = {"substance_history": "CANARY-NAPZA-5c2e: methamphetamine 2019-2021"}


@dataclass
class Pair:
    world: World  # the prison's vault, over HTTP
    sentra: Services  # the sentra's vault
    prison_officer: Principal
    sentra_officer: Principal
    sentra_worker: Principal

    def consent_to_handover(self, recipients: list[str] | None = None) -> str:
        body = self.world.post(
            "officer",
            f"/v1/subjects/{self.world.subject_id}/consents",
            {
                "form_id": "rehabilitation",
                "form_version": 1,
                "language": "id",
                "granted_purposes": ["counseling", "social_reintegration", "handover_kemensos"],
                "recipients": {"handover_kemensos": recipients or [SENTRA]},
                "signature": {"method": "pin", "pin": SUBJECT_PIN},
            },
        )
        return str(body["id"])

    def export(self, recipient: str = SENTRA) -> str:
        import json

        bundle = self.world.services.handover.export(
            self.prison_officer, uuid.UUID(self.world.subject_id), recipient
        )
        return json.dumps(bundle)

    def import_for_worker(self, bundle: str) -> dict[str, Any]:
        """The sentra's officer imports the bundle and puts the worker on the care team."""
        result: dict[str, Any] = self.sentra.handover.import_bundle(self.sentra_officer, bundle)
        self.sentra.access.assign(
            self.sentra_officer, self.sentra_worker.id, uuid.UUID(result["subject_id"])
        )
        return result

    def stored_counts(self) -> tuple[int, int]:
        """How many subjects and records the sentra's vault holds."""
        from sqlalchemy import func, select

        from vault.records.models import Record
        from vault.subjects.models import Subject

        with self.sentra.db.read_session() as session:
            subjects = session.execute(select(func.count()).select_from(Subject)).scalar_one()
            records = session.execute(select(func.count()).select_from(Record)).scalar_one()
        return int(subjects), int(records)


def _principal(services: Services, who: str, role: str, organization: str) -> Principal:
    user_id = create_user(services, who, role, organization)
    return Principal(id=user_id, role=Role(role), organization=organization)


def _second_database(url: str, tmp_path: Path) -> str:
    """A database for the sentra on the world's backend: a SQLite file, or a fresh schema."""
    if url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'sentra.db'}"
    import secrets

    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    schema = f"s_{secrets.token_hex(6)}"
    base = make_url(url)
    engine = create_engine(base.difference_update_query(["options"]), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine.dispose()
    return base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False
    )


def build_pair(world: World, tmp_path: Path) -> Iterator[Pair]:
    settings = make_settings(
        _second_database(world.services.settings.database_url, tmp_path),
        tmp_path / "sentra",
        keys_dir=tmp_path / "sentra-keys",
    )
    initialise(settings)
    sentra = build_services(settings)
    try:
        # The sentra is a Kemensos organisation the prison's consent forms may name.
        ensure_organization(world.services, SENTRA)
        prison_officer = Principal(
            id=uuid.UUID(world.user_ids["officer"]), role=Role.OFFICER, organization=PRISON
        )
        pair = Pair(
            world=world,
            sentra=sentra,
            prison_officer=prison_officer,
            sentra_officer=_principal(sentra, "s_officer", "officer", SENTRA),
            sentra_worker=_principal(sentra, "s_worker", "social_worker", SENTRA),
        )
        trust(world.services, SENTRA, sentra)
        trust(sentra, PRISON, world.services)
        yield pair
    finally:
        sentra.close()


def trust(holder: Services, organization: str, partner: Services) -> None:
    """``holder`` records ``partner``'s published keys for ``organization``."""
    from vault.handover.proof import ExportProver

    holder.handover.trust_partner(
        organization,
        partner.signer.jwks(),
        partner.handover.key.public_jwk(),
        ExportProver(partner.audit).log_keys(),
    )


def reload(bundle: str) -> Any:
    import json

    return json.loads(bundle)
