"""Authorized read through the full stack against a plain Litestar + SQLModel read.

The vault side is the real service (``vault.app:app_from_env``) on a SQLite
file prepared through its own API: an officer registers a subject, the
counselor is assigned, the subject consents (PIN, officer witness), the
counselor writes a psychological assessment; then the load reads that record
for the purpose ``counseling``: token check, decision, consent, decryption of
every field, and a durable audit event per request.

The baseline serves the same field values from one unencrypted row
(``bench/plain_app.py``). Both run under uvicorn with the same flags and
worker count, one after the other, loaded over 127.0.0.1 by
``bench/loadgen.py`` at 1 and 32 connections.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import REPO, Mode, Row, Section, Target, Waiting, main, need, pick
from bench.loadgen import LoadResult, load

ORG = "lapas-bench"
PASSWORD = "bench password that is long enough"  # noqa: S105 - a throwaway user in a temp db
RECORD = {
    "instrument": "SRQ-20",
    "summary": "Reports low mood since the transfer; sleeps poorly; engaged in the session. " * 6,
    "observations": "Calm, oriented, good eye contact; speaks slowly about the family.",
    "risk_level": "moderate",
    "recommendations": "Weekly counseling; join the vocational workshop; family visit plan.",
}
WORKERS = int(os.environ.get("VAULT_BENCH_WORKERS", "1"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _server(target: str, env: dict[str, str], log: Path, port: int) -> Iterator[int]:
    """Run ``target`` (an app factory) under uvicorn on ``port`` of 127.0.0.1; yield its pid."""
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        target,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{target} exited: {log.read_text()[-800:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{target} did not start within 60 s") from None
                time.sleep(0.2)
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _settings_env(tmp: Path, port: int) -> dict[str, str]:
    return {
        # Litestar matches the whole Host header, port included.
        "VAULT_ALLOWED_HOSTS": f'["127.0.0.1:{port}", "127.0.0.1"]',
        "VAULT_DATABASE_URL": f"sqlite:///{tmp / 'vault.db'}",
        "VAULT_KEYS_DIR": str(tmp / "keys"),
        "VAULT_TESTING": "1",
        # Only logins hash; the read path never does.
        "VAULT_ARGON2_PROFILE": "cheapest",
        "VAULT_LOG_LEVEL": "WARNING",
        # One benchmark user reads thousands of times a minute; the per-user limit
        # (a protection against paging through records) would measure 429s instead.
        "VAULT_READ_LIMIT_PER_MINUTE": "1000000000",
    }


def _prepare_users(env: dict[str, str]) -> None:
    """Database, keys and the three users, through the services (as `vault init` would)."""
    need("vault.identity.service", "the identity service (issue 4)")
    from vault.config import load_settings
    from vault.services import build_services

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        settings = load_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    services = build_services(settings, migrate=True)
    try:
        services.identity.create_organization(ORG, "Lapas Bench", "imipas")
        for name, role in (("admin", "admin"), ("officer", "officer"), ("counselor", "counselor")):
            services.identity.create_user(f"bench-{name}", PASSWORD, role, ORG)
    finally:
        services.close()


def _check(response: Any, what: str) -> Any:
    if response.status_code >= 400:
        raise Waiting(
            f"{what}: {response.request.method} {response.request.url.path} answered "
            f"{response.status_code} {response.text[:200]}"
        )
    return response.json()


def _prepare_data(port: int) -> tuple[str, dict[str, str]]:
    """Subject, assignment, consent and record through the API; returns (path, headers)."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

        def login(name: str) -> dict[str, str]:
            body = _check(
                client.post(
                    "/v1/auth/login", json={"username": f"bench-{name}", "password": PASSWORD}
                ),
                "login",
            )
            return {"Authorization": f"Bearer {body['access_token']}"}

        officer, admin, counselor = login("officer"), login("admin"), login("counselor")
        me = _check(client.get("/v1/me", headers=counselor), "who am I")
        subject = _check(
            client.post(
                "/v1/subjects",
                headers=officer,
                json={
                    "full_name": "Budi Santoso",
                    "nik": "3171234567890001",
                    "register_number": "B.I-001/2026",
                    "date_of_birth": date(1990, 5, 17).isoformat(),
                    "organization": ORG,
                    "pin": "482915",
                },
            ),
            "register a subject (issue 7: POST /v1/subjects)",
        )["id"]
        _check(
            client.post(
                "/v1/assignments", headers=admin, json={"user_id": me["id"], "subject_id": subject}
            ),
            "assign the counselor (issue 4: POST /v1/assignments)",
        )
        forms = _check(client.get("/v1/consent-forms", headers=officer), "consent forms")
        form = next(
            (f for f in forms if any(p["code"] == "counseling" for p in f["purposes"])), None
        )
        if form is None:
            raise Waiting("a consent form offering the purpose 'counseling' (issue 6)")
        _check(
            client.post(
                f"/v1/subjects/{subject}/consents",
                headers=officer,
                json={
                    "form_id": form["id"],
                    "form_version": form["version"],
                    "language": "id",
                    "granted_purposes": ["counseling"],
                    "signature": {"method": "pin", "pin": "482915"},
                },
            ),
            "sign a consent (issue 6: POST /v1/subjects/{id}/consents)",
        )
        record = _check(
            client.post(
                f"/v1/subjects/{subject}/records",
                headers=counselor,
                json={"type": "psychological_assessment", "fields": RECORD},
            ),
            "write a record (issue 7: POST /v1/subjects/{id}/records)",
        )["id"]
        path = f"/v1/subjects/{subject}/records/{record}?purpose=counseling"
        view = _check(client.get(path, headers=counselor), "read the record")
        if view.get("fields") != RECORD:
            raise RuntimeError(f"the vault did not return every field decrypted: {view}")
        return path, counselor


def _prepare_plain(url: str) -> str:
    from sqlmodel import Session, SQLModel

    from bench.plain_app import PlainRecord
    from vault.db import make_engine

    engine = make_engine(url)
    SQLModel.metadata.create_all(engine, tables=[PlainRecord.__table__])  # type: ignore[attr-defined]  # SQLModel sets it
    record_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(
            PlainRecord(
                id=record_id,
                subject_id=uuid.uuid4(),
                record_type="psychological_assessment",
                **RECORD,
            )
        )
        session.commit()
    engine.dispose()
    return f"/plain/{record_id}"


def _merge(results: list[LoadResult]) -> LoadResult:
    merged = LoadResult(connections=results[0].connections, elapsed=sum(r.elapsed for r in results))
    for result in results:
        merged.latencies += result.latencies
        for status, count in result.errors.items():
            merged.errors[status] = merged.errors.get(status, 0) + count
    return merged


def run(mode: Mode) -> Section:
    need("vault.records.http", "the records HTTP API (issue 7, vault/records/http.py)")
    need("vault.consent.service", "the consent service (issue 6)")
    section = Section(name="http_read", title="Full-stack read")
    seconds = pick(mode, 3.0, 10.0, 30.0)
    requests = pick(mode, 3_000, 20_000, 100_000)
    rounds = pick(mode, 1, 2, 3)
    with tempfile.TemporaryDirectory(prefix="vault-bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        base_env = {**os.environ, "PYTHONPATH": str(REPO)}
        vault_port, plain_port = _free_port(), _free_port()
        vault_env = {**base_env, **_settings_env(tmp, vault_port)}
        _prepare_users(_settings_env(tmp, vault_port))
        plain_url = f"sqlite:///{tmp / 'plain.db'}"
        plain_path = _prepare_plain(plain_url)
        plain_env = {**base_env, "BENCH_PLAIN_DATABASE_URL": plain_url}
        measured: dict[tuple[str, int], list[LoadResult]] = {}
        with (
            _server("vault.app:app_from_env", vault_env, tmp / "vault.log", vault_port),
            _server("bench.plain_app:create_plain_app", plain_env, tmp / "plain.log", plain_port),
        ):
            vault_path, headers = _prepare_data(vault_port)
            targets = {
                "plain": (plain_port, plain_path, {}),
                "vault": (vault_port, vault_path, headers),
            }
            for _ in range(rounds):
                for connections in (1, 32):
                    for name, (port, path, hdrs) in targets.items():
                        load(
                            port,
                            path,
                            hdrs,
                            connections=connections,
                            max_requests=200,
                            max_seconds=1.0,
                        )  # warm up this pairing
                        result = load(
                            port,
                            path,
                            hdrs,
                            connections=connections,
                            max_requests=requests,
                            max_seconds=seconds / rounds,
                        )
                        measured.setdefault((name, connections), []).append(result)
    for connections in (1, 32):
        plain = _merge(measured[("plain", connections)])
        vault = _merge(measured[("vault", connections)])
        case = f"{connections} connection" + ("s" if connections > 1 else "")
        section.rows.append(
            Row(
                "full-stack read",
                f"throughput, {case}",
                "vault",
                vault.throughput,
                "plain Litestar + SQLModel",
                plain.throughput,
                "req/s",
                extra={
                    "vault_requests": vault.ok,
                    "plain_requests": plain.ok,
                    "vault_errors": str(vault.errors),
                    "plain_errors": str(plain.errors),
                },
            )
        )
        for q in (50, 99):
            section.rows.append(
                Row(
                    "full-stack read",
                    f"p{q} latency, {case}",
                    "vault",
                    vault.p(q) * 1e3,
                    "plain Litestar + SQLModel",
                    plain.p(q) * 1e3,
                    "ms",
                )
            )
        if vault.errors or plain.errors:
            section.notes.append(
                f"{case}: non-200 answers vault {vault.errors}, plain {plain.errors}"
            )
    ratio = section.rows[3].ratio  # throughput at 32 connections
    section.targets.append(
        Target("throughput at 32 connections vs plain", ">= 0.7x", f"{ratio:.2f}x", ratio >= 0.7)
    )
    section.notes.append(
        f"uvicorn, {WORKERS} worker(s) each (VAULT_BENCH_WORKERS), SQLite WAL; the record read "
        f"has {len(RECORD)} fields (a full psychological assessment)"
    )
    return section


if __name__ == "__main__":
    main("http_read", run)
