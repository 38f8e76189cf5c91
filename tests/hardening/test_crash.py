"""kill -9 a real ``vault serve`` during record writes and group-committed audit batches,
and ``vault keys rotate`` half way; restart: the audit chain verifies, every
acknowledged write is there whole, nothing half-written is, rotation resumes.

The default run kills once after about a second of load; ``-m soak`` kills
repeatedly under longer load, on every backend.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.hardening.processes import prepared_world, run_vault, start_server
from tests.world import World
from vault.config import Settings
from vault.services import build_services

FIELDS = ("instrument", "summary", "risk_level", "recommendations")


def record_body(tag: str) -> dict[str, Any]:
    return {
        "type": "psychological_assessment",
        "fields": {
            "instrument": "SRQ-20",
            "summary": f"CANARY-CRASH-{tag}",
            "risk_level": "low",
            "recommendations": f"plan {tag}",
        },
    }


class Load:
    """Writers and readers hammering one server until it dies under them."""

    def __init__(self, url: str, world: World, record_id: str) -> None:
        self.url = url
        self.world = world
        self.record_id = record_id
        self.sent: set[str] = set()
        self.acked: dict[str, str] = {}  # record id -> tag
        self.reads_ok = 0
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.stop = threading.Event()

    def writer(self) -> None:
        path = f"/v1/subjects/{self.world.subject_id}/records"
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while not self.stop.is_set():
                tag = f"{uuid.uuid4().hex[:12]}-{next(self.counter)}"
                with self.lock:
                    self.sent.add(tag)
                try:
                    response = client.post(
                        path, json=record_body(tag), headers=self.world.auth("counselor")
                    )
                except httpx.TransportError:
                    return  # the server died: this write was never acknowledged
                if response.status_code == 201:
                    with self.lock:
                        self.acked[response.json()["id"]] = tag

    def reader(self) -> None:
        path = f"/v1/subjects/{self.world.subject_id}/records/{self.record_id}"
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while not self.stop.is_set():
                try:
                    response = client.get(
                        path, params={"purpose": "counseling"}, headers=self.world.auth("counselor")
                    )
                except httpx.TransportError:
                    return
                if response.status_code == 200:
                    with self.lock:
                        self.reads_ok += 1

    def under_way(self) -> bool:
        """Some writes acknowledged and some reads answered: the load has really started."""
        with self.lock:
            return bool(self.acked) and self.reads_ok > 0

    def run_until_killed(
        self, server: Any, seconds: float, writers: int = 3, patience: float = 60.0
    ) -> None:
        """Load for ``seconds``, and longer if nothing was acknowledged yet (a loaded
        machine answers slowly), at most ``patience`` more: then SIGKILL mid-flight."""
        threads = [threading.Thread(target=self.writer) for _ in range(writers)]
        threads += [threading.Thread(target=self.reader) for _ in range(2)]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        deadline = time.monotonic() + patience
        while not self.under_way() and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # mid-flight: requests are being written and audited right now
        self.stop.set()
        for thread in threads:
            thread.join(timeout=10)


def check_after_restart(
    server: Any, world: World, record_id: str, sent: set[str], acked: dict[str, str]
) -> None:
    """Chain intact; acknowledged writes whole; every stored record one that was sent."""
    with server.client() as client:
        verify = client.get("/v1/audit/verify", headers=world.auth("compliance"))
        assert verify.status_code == 200, verify.text
        assert verify.json()["ok"] is True, verify.json()
        listing = client.get(
            f"/v1/subjects/{world.subject_id}/records",
            params={"purpose": "counseling"},
            headers=world.auth("counselor"),
        )
        assert listing.status_code == 200
        stored: dict[str, str] = {}
        for meta in listing.json():
            if meta["type"] != "psychological_assessment" or meta["id"] == record_id:
                continue
            read = client.get(
                f"/v1/subjects/{world.subject_id}/records/{meta['id']}",
                params={"purpose": "counseling"},
                headers=world.auth("counselor"),
            )
            assert read.status_code == 200, read.text
            fields = read.json()["fields"]
            assert set(fields) == set(FIELDS), "no record is half-written"
            tag = fields["summary"].removeprefix("CANARY-CRASH-")
            assert fields == record_body(tag)["fields"]
            stored[meta["id"]] = tag
        assert set(stored.values()) <= sent, "nothing was stored that was not sent"
        for acked_id, tag in acked.items():
            assert stored.get(acked_id) == tag, f"acknowledged write {acked_id} lost"
        audited: set[str] = set()
        params = {"subject_id": world.subject_id, "action": "record.create", "limit": 1000}
        while True:  # every page: a long soak writes more than one page of records
            page = client.get(
                "/v1/audit/events", params=params, headers=world.auth("compliance")
            ).json()
            audited |= {e["target_id"] for e in page["events"] if e["outcome"] == "allow"}
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
        assert set(acked) <= audited, "every acknowledged write was audited"


def setup_world(settings: Settings, tag: str) -> tuple[World, str]:
    """Build the world in process with one record, then close it for real servers."""
    worlds = prepared_world(settings)
    try:
        world = next(worlds)
        body = record_body(tag)
        return world, world.create_record("counselor", body["type"], body["fields"])
    finally:
        worlds.close()


def crash_cycles(settings: Settings, tmp_path: Path, cycles: int, seconds: float) -> None:
    world, record_id = setup_world(settings, "base")
    log = tmp_path / "serve.log"
    server = start_server(settings, log)
    sent: set[str] = set()
    acked: dict[str, str] = {}
    try:
        for _ in range(cycles):
            load = Load(server.url, world, record_id)
            load.run_until_killed(server, seconds)
            assert load.acked, "the load got some writes acknowledged before the kill"
            assert load.reads_ok, "and some reads"
            sent |= load.sent
            acked |= load.acked
            server = start_server(settings, log)
            check_after_restart(server, world, record_id, sent, acked)
    finally:
        server.kill()
    assert "Traceback" not in log.read_text()


def test_kill_during_writes_and_audit_batches_loses_nothing_acknowledged(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    """One SIGKILL under concurrent writes and reads: acknowledged writes survive whole."""
    crash_cycles(sqlite_settings, tmp_path, cycles=1, seconds=1.0)


@pytest.mark.soak
def test_repeated_kills_under_load_lose_nothing_acknowledged(
    settings: Settings, tmp_path: Path
) -> None:
    """Five SIGKILLs, each after four seconds of load, on each backend."""
    crash_cycles(settings, tmp_path, cycles=5, seconds=4.0)


def add_subject_keys(settings: Settings, count: int) -> None:
    """Data keys for ``count`` subjects (rows of subject_keys only: rotation's work)."""
    services = build_services(settings)
    try:
        with services.db.session() as session:
            for _ in range(count):
                services.subject_keys.create(session, uuid.uuid4())
    finally:
        services.close()


def key_versions(settings: Settings) -> dict[int, int]:
    """How many data keys each KEK version wraps, read with a bare engine (cheap to poll)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT kek_version, COUNT(*) FROM subject_keys GROUP BY kek_version")
            ).all()
    finally:
        engine.dispose()
    return {int(version): int(count) for version, count in rows}


def kill_rotation_half_way(settings: Settings, keys: int) -> tuple[int, dict[int, int]]:
    """Start ``vault keys rotate`` in small batches and SIGKILL it once some keys moved."""
    import subprocess

    from tests.hardening.processes import VAULT, vault_env

    before = key_versions(settings)
    process = subprocess.Popen(
        [*VAULT, "keys", "rotate", "--batch-size", "5"],
        env=vault_env(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    counts = before
    while time.monotonic() < deadline and process.poll() is None:
        counts = key_versions(settings)
        new = {v: n for v, n in counts.items() if v not in before}
        if new and 0 < sum(new.values()) < keys // 2:
            break
        time.sleep(0.02)
    process.kill()
    process.wait()
    counts = key_versions(settings)
    new_versions = [v for v in counts if v not in before]
    assert new_versions, "the rotation had made its new version current"
    return new_versions[0], counts


def rotation_crash(settings: Settings, keys: int) -> None:
    world, record_id = setup_world(settings, "rotation")
    add_subject_keys(settings, keys)
    target, counts = kill_rotation_half_way(settings, keys)
    assert 0 < counts[target] < sum(counts.values()), "killed half way"
    resumed = run_vault(settings, "keys", "rotate")
    assert resumed.returncode == 0, resumed.stderr
    assert key_versions(settings) == {target: sum(counts.values())}, "resumed, no new version"
    # Every data key still unwraps: the world's record reads, the chain verifies.
    with prepared_world_reader(settings) as client:
        read = client.get(
            f"/v1/subjects/{world.subject_id}/records/{record_id}",
            params={"purpose": "counseling"},
            headers=world.auth("counselor"),
        )
        assert read.json()["fields"] == record_body("rotation")["fields"]
        verify = client.get("/v1/audit/verify", headers=world.auth("compliance"))
        assert verify.json()["ok"] is True
    services = build_services(settings)
    try:
        with services.db.read_session() as session:
            from sqlalchemy import text

            ids = session.execute(text("SELECT subject_id FROM subject_keys")).scalars().all()
            for subject_id in ids:
                services.subject_keys.data_key(session, uuid.UUID(str(subject_id)))
    finally:
        services.close()


def prepared_world_reader(settings: Settings) -> Any:
    from litestar.testing import TestClient

    from vault.app import create_app

    return TestClient(create_app(settings))


def test_rotation_killed_half_way_resumes(sqlite_settings: Settings) -> None:
    """SIGKILL during `vault keys rotate`; the next run finishes it and every key unwraps."""
    rotation_crash(sqlite_settings, keys=1500)


@pytest.mark.soak
def test_rotation_killed_half_way_resumes_at_scale(settings: Settings) -> None:
    """The same with 20,000 data keys, on each backend."""
    rotation_crash(settings, keys=20_000)
