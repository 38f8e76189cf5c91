"""Several ``vault serve`` worker processes on one PostgreSQL database, with concurrent reads,
writes, consent withdrawals and a KEK rotation: the chain stays one valid chain, and no
read that starts after a withdrawal was acknowledged decrypts anything it covered."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, make_settings
from tests.hardening.processes import Server, prepared_world, run_vault, start_server
from tests.support import choose_pin
from tests.world import ORG, SUBJECT_PIN, World

pytestmark = pytest.mark.skipif("postgres" not in BACKENDS, reason="needs PostgreSQL")

ASSESSMENT = {
    "instrument": "SRQ-20",
    "summary": "CANARY-CONC-3e: anxious before release",
    "risk_level": "low",
    "recommendations": "weekly sessions",
}
SERVERS = 3
SUBJECTS = 3


def new_subject(world: World, n: int) -> str:
    body = {
        "full_name": f"Subjek {n}",
        "nik": f"31710100000{n:05d}",
        "register_number": f"AI {n}/2025",
        "date_of_birth": "1991-01-01",
        "organization": ORG,
    }
    subject_id = str(world.post("officer", "/v1/subjects", body)["id"])
    choose_pin(world.services, subject_id, SUBJECT_PIN)
    world.post(
        "admin",
        "/v1/assignments",
        {"user_id": world.user_ids["counselor"], "subject_id": subject_id},
    )
    return subject_id


class Traffic:
    def __init__(self, servers: list[Server], world: World, targets: dict[str, Any]) -> None:
        self.servers = servers
        self.world = world
        self.targets = targets  # subject id -> {"record": id, "consent": id}
        self.withdrawn_at: dict[str, float] = {}  # subject id -> time the withdrawal was acked
        self.reads: list[tuple[str, float, bool]] = []  # subject, started, got plaintext
        self.writes = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def reader(self, index: int) -> None:
        clients = [s.client() for s in self.servers]
        subjects = itertools.cycle(self.targets)
        for n in itertools.count(index):
            if self.stop.is_set():
                break
            subject = next(subjects)
            started = time.monotonic()
            response = clients[n % len(clients)].get(
                f"/v1/subjects/{subject}/records/{self.targets[subject]['record']}",
                params={"purpose": "counseling"},
                headers=self.world.auth("counselor"),
            )
            if response.status_code != 200:
                with self.lock:
                    self.errors.append(f"read {response.status_code} {response.text[:200]}")
                continue
            with self.lock:
                self.reads.append((subject, started, bool(response.json()["fields"])))
        for client in clients:
            client.close()

    def writer(self) -> None:
        clients = [s.client() for s in self.servers]
        subjects = itertools.cycle(self.targets)
        for n in itertools.count():
            if self.stop.is_set():
                break
            subject = next(subjects)
            response = clients[n % len(clients)].post(
                f"/v1/subjects/{subject}/records",
                json={"type": "progress_note", "fields": {"note": f"session {n}"}},
                headers=self.world.auth("counselor"),
            )
            with self.lock:
                if response.status_code == 201:
                    self.writes += 1
                else:
                    self.errors.append(f"write {response.status_code} {response.text[:200]}")
        for client in clients:
            client.close()

    def withdraw_all(self) -> None:
        for n, (subject, target) in enumerate(self.targets.items()):
            time.sleep(0.4)
            with self.servers[n % len(self.servers)].client() as client:
                response = client.post(
                    f"/v1/consents/{target['consent']}/withdraw",
                    json={},
                    headers=self.world.auth("officer"),
                )
            acked = time.monotonic()
            assert response.status_code == 200, response.text
            with self.lock:
                self.withdrawn_at[subject] = acked


def test_servers_share_one_chain_and_withdrawal_is_immediate(
    postgres_run_database: str | None, tmp_path: Path
) -> None:
    """Three servers, readers, writers, withdrawals and a rotation: one valid chain, no
    read started after a withdrawal's acknowledgement gets plaintext."""
    from tests.hardening.conftest import _postgres_schema_url

    assert postgres_run_database is not None
    settings = make_settings(_postgres_schema_url(postgres_run_database), tmp_path)
    worlds = prepared_world(settings)
    try:
        world = next(worlds)
        subjects = [world.subject_id] + [new_subject(world, n) for n in range(1, SUBJECTS)]
        targets: dict[str, Any] = {}
        for subject in subjects:
            consent = (
                world.consent_id
                if subject == world.subject_id
                else world.sign_consent(["counseling"], subject_id=subject)
            )
            record = world.post(
                "counselor",
                f"/v1/subjects/{subject}/records",
                {"type": "psychological_assessment", "fields": ASSESSMENT},
            )["id"]
            targets[subject] = {"record": record, "consent": consent}
    finally:
        worlds.close()

    # One `vault serve --workers N`: N server processes on the one database, started
    # by uvicorn (starting N separate servers costs N times the start-up on 2 cores).
    log = tmp_path / "serve.log"
    server = start_server(settings, log, workers=SERVERS, VAULT_LOG_LEVEL="INFO")
    deadline = time.monotonic() + 60
    while log.read_text().count("Application startup complete") < SERVERS:
        assert time.monotonic() < deadline, log.read_text()[-2000:]
        time.sleep(0.1)
    servers = [server]
    try:
        traffic = Traffic(servers, world, targets)
        threads = [threading.Thread(target=traffic.reader, args=(n,)) for n in range(3)]
        threads += [threading.Thread(target=traffic.writer) for _ in range(2)]
        for thread in threads:
            thread.start()
        rotated: list[Any] = []
        rotation = threading.Thread(
            target=lambda: rotated.append(
                run_vault(settings, "keys", "rotate", "--batch-size", "1")
            )
        )
        rotation.start()
        traffic.withdraw_all()
        time.sleep(0.5)
        traffic.stop.set()
        rotation.join(timeout=60)
        for thread in threads:
            thread.join(timeout=30)

        assert not traffic.errors, traffic.errors[:5]
        assert rotated[0].returncode == 0, rotated[0].stderr
        assert traffic.writes > 0
        late = [
            (subject, started)
            for subject, started, plaintext in traffic.reads
            if plaintext and started > traffic.withdrawn_at[subject]
        ]
        assert not late, f"{len(late)} reads decrypted after the withdrawal was acknowledged"
        assert any(p for _, _, p in traffic.reads), "reads did decrypt before the withdrawals"
        assert any(
            not p and started > traffic.withdrawn_at[s] for s, started, p in traffic.reads
        ), "reads were refused after them"
        with servers[0].client() as client:
            verify = client.get("/v1/audit/verify", headers=world.auth("compliance")).json()
        assert verify["ok"] is True, verify
        assert verify["events"] >= len(traffic.reads) + traffic.writes
        pids = {
            line.split("[")[1].split("]")[0]
            for line in log.read_text().splitlines()
            if "Started server process" in line
        }
        assert len(pids) >= SERVERS, "several server processes shared the database"
    finally:
        server.kill()
    assert "Traceback" not in log.read_text()
