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
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    Mode,
    Row,
    Section,
    Target,
    Waiting,
    main,
    need,
    pick,
    settings_from_env,
)
from bench.loadgen import LoadResult, load
from bench.stores import postgres_reachable, postgres_url

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
def _server(
    target: str, env: dict[str, str], log: Path, port: int, cwd: Path = REPO
) -> Iterator[int]:
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
    with listening(command, env, log, port, cwd) as pid:
        yield pid


@contextmanager
def listening(
    command: list[str], env: dict[str, str], log: Path, port: int, cwd: Path = REPO
) -> Iterator[int]:
    """Run ``command`` until it listens on ``port`` of 127.0.0.1; yield its pid, then stop it."""
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{command[2:5]} exited: {log.read_text()[-800:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{command[2:5]} did not start within 90 s") from None
                time.sleep(0.2)
        yield proc.pid
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _settings_env(tmp: Path, port: int, database_url: str | None = None) -> dict[str, str]:
    return {
        # Litestar matches the whole Host header, port included.
        "VAULT_ALLOWED_HOSTS": f'["127.0.0.1:{port}", "127.0.0.1"]',
        "VAULT_DATABASE_URL": database_url or f"sqlite:///{tmp / 'vault.db'}",
        "VAULT_KEYS_DIR": str(tmp / "keys"),
        "VAULT_TESTING": "1",
        # Only logins hash; the read path never does.
        "VAULT_ARGON2_PROFILE": "cheapest",
        "VAULT_LOG_LEVEL": "WARNING",
        # One benchmark user reads thousands of times a minute; the per-user limit
        # (a protection against paging through records) would measure 429s instead.
        # Off (0): with it on, its count costs at most the limit's number of index
        # entries a read (120 by default), which a single-user load cannot show.
        "VAULT_READ_LIMIT_PER_MINUTE": "0",
    }


def _prepare_users(env: dict[str, str]) -> None:
    """Database, keys and the three users, through the services (as `vault init` would)."""
    need("vault.identity.service", "the identity service (issue 4)")
    from vault.services import build_services

    settings = settings_from_env(env)
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
    return str(record_id)


def _check_plain(port: int, path: str) -> None:
    """A baseline that answered less than the vault would flatter it: same five fields."""
    import httpx

    answer = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=30).json()
    if answer.get("fields") != RECORD:
        raise RuntimeError(f"the plain endpoint {path} did not return every field: {answer}")


def _audited_reads(database_url: str) -> int:
    from sqlalchemy import text

    from vault.db import make_engine

    engine = make_engine(database_url, pool=False)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text(
                    "SELECT count(*) FROM audit_events "
                    "WHERE action = 'record.read' AND outcome = 'allow'"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(count)


def _chain_verifies(env: dict[str, str]) -> bool:
    """``vault audit verify`` over the benchmark's store: chain, checkpoints, signatures."""
    done = subprocess.run(
        [sys.executable, "-m", "vault.cli", "audit", "verify"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return done.returncode == 0


def _merge(results: list[LoadResult]) -> LoadResult:
    merged = LoadResult(connections=results[0].connections, elapsed=sum(r.elapsed for r in results))
    for result in results:
        merged.latencies += result.latencies
        for status, count in result.errors.items():
            merged.errors[status] = merged.errors.get(status, 0) + count
    return merged


@dataclass
class _Measured:
    results: dict[tuple[str, int], list[LoadResult]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _measure(kind: str, database_url: str, tmp: Path, mode: Mode) -> _Measured:
    """Both servers on one store (``kind``): the three targets at 1 and 32 connections."""
    seconds = pick(mode, 3.0, 10.0, 30.0)
    requests = pick(mode, 3_000, 20_000, 100_000)
    rounds = pick(mode, 1, 2, 3)
    base_env = {**os.environ, "PYTHONPATH": str(REPO)}
    vault_port, plain_port = _free_port(), _free_port()
    settings_env = _settings_env(tmp, vault_port, database_url)
    vault_env = {**base_env, **settings_env}
    _prepare_users(settings_env)
    plain_id = _prepare_plain(database_url)
    plain_env = {**base_env, "BENCH_PLAIN_DATABASE_URL": database_url}
    measured = _Measured()
    vault_answered = 0  # every 200 the vault gave, warm-ups included
    with (
        _server("vault.app:app_from_env", vault_env, tmp / f"vault-{kind}.log", vault_port),
        _server(
            "bench.plain_app:create_plain_app", plain_env, tmp / f"plain-{kind}.log", plain_port
        ),
    ):
        vault_path, headers = _prepare_data(vault_port)
        targets = {
            "plain": (plain_port, f"/plain/{plain_id}", {}),
            "plain_async": (plain_port, f"/plain-async/{plain_id}", {}),
            "vault": (vault_port, vault_path, headers),
        }
        for name in ("plain", "plain_async"):
            _check_plain(plain_port, targets[name][1])
        for _ in range(rounds):
            for connections in (1, 32):
                for name, (port, path, hdrs) in targets.items():
                    warm_up = load(
                        port, path, hdrs, connections=connections, max_requests=200, max_seconds=1.0
                    )
                    result = load(
                        port,
                        path,
                        hdrs,
                        connections=connections,
                        max_requests=requests,
                        max_seconds=seconds / rounds,
                    )
                    measured.results.setdefault((name, connections), []).append(result)
                    if name == "vault":
                        vault_answered += warm_up.ok + result.ok
    # The honesty check of the whole comparison: every read the vault answered
    # left its own durable audit event (one more: the check read when preparing).
    audited = _audited_reads(database_url)
    if audited != vault_answered + 1:
        raise RuntimeError(f"the vault answered {vault_answered + 1} reads but recorded {audited}")
    verified = "ok" if _chain_verifies(vault_env) else "FAILED"
    measured.notes.append(
        f"{kind}: every answered read left its audit event: {audited:,} record.read events "
        f"for {vault_answered + 1:,} reads (`vault audit verify`: {verified})"
    )
    return measured


def _rows(section: Section, kind: str, measured: _Measured) -> dict[str, float]:
    """The table rows of one store; returns the throughput ratios at 32 connections."""
    baselines = {
        "plain": "plain Litestar + SQLModel",
        "plain_async": "plain, coroutine + bare cursor",
    }
    ratios: dict[str, float] = {}
    for connections in (1, 32):
        vault = _merge(measured.results[("vault", connections)])
        case = f"{connections} connection" + ("s" if connections > 1 else "")
        case = f"{case}, {kind}"
        for key, label in baselines.items():
            plain = _merge(measured.results[(key, connections)])
            row = Row(
                "full-stack read",
                f"throughput, {case}",
                "vault",
                vault.throughput,
                label,
                plain.throughput,
                "req/s",
                extra={
                    "vault_requests": vault.ok,
                    "plain_requests": plain.ok,
                    "vault_errors": str(vault.errors),
                    "plain_errors": str(plain.errors),
                },
            )
            section.rows.append(row)
            if connections == 32:
                ratios[key] = row.ratio
            for q in (50, 99):
                section.rows.append(
                    Row(
                        "full-stack read",
                        f"p{q} latency, {case}",
                        "vault",
                        vault.p(q) * 1e3,
                        label,
                        plain.p(q) * 1e3,
                        "ms",
                    )
                )
            if plain.errors:
                section.notes.append(f"{case}: non-200 answers from {label}: {plain.errors}")
        if vault.errors:
            section.notes.append(f"{case}: non-200 answers from the vault: {vault.errors}")
    section.notes.extend(measured.notes)
    return ratios


def run(mode: Mode) -> Section:
    need("vault.records.http", "the records HTTP API (issue 7, vault/records/http.py)")
    need("vault.consent.service", "the consent service (issue 6)")
    section = Section(name="http_read", title="Full-stack read")
    with tempfile.TemporaryDirectory(prefix="vault-bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        sqlite = _measure("sqlite", f"sqlite:///{tmp / 'vault.db'}", tmp, mode)
    ratio = _rows(section, "sqlite", sqlite)
    section.targets.append(
        Target(
            "throughput at 32 connections vs plain (SQLite, the embedded default)",
            ">= 0.7x",
            f"{ratio['plain']:.2f}x",
            ratio["plain"] >= 0.7,
        )
    )
    section.notes.append(
        f"sqlite: against the same read served the vault's way (a coroutine, the bare cursor, "
        f"no thread hop) the vault reaches {ratio['plain_async']:.2f}x at 32 connections: "
        f"that ratio is the price of the protections alone"
    )
    if postgres_reachable():
        with (
            tempfile.TemporaryDirectory(prefix="vault-bench-http-") as tmp_name,
            postgres_url() as url,
        ):
            postgres = _measure("postgresql", url, Path(tmp_name), mode)
        pg_ratio = _rows(section, "postgresql", postgres)
        section.notes.append(
            f"postgresql: {pg_ratio['plain']:.2f}x of plain at 32 connections; the vault's "
            f"store work runs in worker threads there (a network round trip must not stall "
            f"the event loop), the plain endpoint's in one thread hop as on SQLite"
        )
    else:
        section.notes.append("postgresql: not reachable, its rows were skipped")
    section.notes.append(
        f"uvicorn, {WORKERS} worker(s) each (VAULT_BENCH_WORKERS); the record read has "
        f"{len(RECORD)} fields (a full psychological assessment)"
    )
    return section


if __name__ == "__main__":
    main("http_read", run)
