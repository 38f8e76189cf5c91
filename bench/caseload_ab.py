"""The caseload read of two versions of the vault in one run, and where its time goes.

    .venv/bin/python -m bench.caseload_ab --store sqlite --before /path/to/older/checkout
    .venv/bin/python -m bench.caseload_ab --store postgresql --rounds 5 --profile stacks.txt

Builds one caseload (``bench.caseload.build``) and serves it, in turn, by the
plain Litestar + SQLModel app, by this checkout's vault and (``--before``) by
the vault of another checkout of the same schema, each under uvicorn on one
worker. The servers are loaded one after another in interleaved rounds
(plain, before, after, plain, ...) with the same random caseload reads, so a
machine shared with other work disturbs all of them alike: every round gives
one ratio per version against the plain read of the same round, and the
spread over rounds is reported. ``--profile FILE`` has py-spy sample this
checkout's server (GIL holder only) during its rounds and prints the report of
``bench.profile_read``. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bench.caseload import Caseloads, _prepare_plain, _vault_requests, build
from bench.common import REPO
from bench.cpu import cpu_seconds, database_cpu_seconds, system_cpu_seconds
from bench.http_read import _audited_reads, _chain_verifies, _free_port, _server, _settings_env
from bench.loadgen import load_many
from bench.profile_read import report
from bench.stores import postgres_url


def _spy(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen(
        [
            *(spy, "record", "--pid", str(pid), "--duration", str(int(seconds))),
            *("--rate", "200", "--format", "raw", "--output", str(out)),
            *("--threads", "--gil", "--nonblocking"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _context_switches(pid: int) -> int:
    """Context switches of every thread of one process so far (each wake-up of a thread)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:  # voluntary and nonvoluntary
                    total += int(line.split()[-1])
        except OSError:
            continue
    return total


@dataclass
class _Usage:
    """What one server's rounds cost, summed: CPU seconds, reads, and PostgreSQL's counts."""

    server_cpu: float = 0.0
    server_system_cpu: float = 0.0
    # The load's own CPU (this process): on a small machine all three share the cores.
    client_cpu: float = 0.0
    # Context switches of the server's threads; threads that exit meanwhile are not counted.
    switches: int = 0
    database_cpu: float = 0.0
    reads: int = 0
    # Sessions, transactions and rows inserted (pg_stat_database); the sessions
    # include the one connection that reads the counts, about 1 per 2,000 reads.
    counted: list[int] = field(default_factory=lambda: [0, 0, 0])


def _database_counts(url: str) -> tuple[int, int, int]:
    """PostgreSQL's (sessions, transactions, rows inserted) so far, over all databases."""
    if not url.startswith("postgresql"):
        return (0, 0, 0)
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
        row = connection.execute(
            "SELECT sum(sessions), sum(xact_commit + xact_rollback), sum(tup_inserted)"
            " FROM pg_stat_database"
        ).fetchone()
    assert row is not None
    return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--subjects", type=int, default=300)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="a server's load per round")
    parser.add_argument("--before", type=Path, help="another checkout to compare with")
    parser.add_argument("--profile", type=Path, help="py-spy stacks of this checkout's server")
    args = parser.parse_args()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vault-bench-ab-")))
        url = (
            f"sqlite:///{tmp / 'vault.db'}"
            if args.store == "sqlite"
            else stack.enter_context(postgres_url())
        )
        ports = {"plain": _free_port(), "after": _free_port()}
        if args.before:
            ports["before"] = _free_port()
        settings = _settings_env(tmp, ports["after"], url)
        # Every server answers on its own port: allow them all.
        hosts = ", ".join(f'"127.0.0.1:{p}"' for p in ports.values())
        settings["VAULT_ALLOWED_HOSTS"] = f'[{hosts}, "127.0.0.1"]'
        made: Caseloads = build(settings, subjects=args.subjects)
        print(f"built {made.subjects} subjects, {made.records} records in {made.seconds:.0f} s")
        plain_ids = _prepare_plain(url, made.records)
        rng = random.Random(11)
        plain_lists = [[(f"/plain/{rng.choice(plain_ids)}", {}) for _ in range(4000)]]
        env = {**os.environ, **settings}
        trees = {"after": REPO}
        if args.before:
            trees["before"] = args.before.resolve()
        pids = {}
        pids["plain"] = stack.enter_context(
            _server(
                "bench.plain_app:create_plain_app",
                {**os.environ, "PYTHONPATH": str(REPO), "BENCH_PLAIN_DATABASE_URL": url},
                tmp / "plain.log",
                ports["plain"],
            )
        )
        for name, tree in trees.items():
            pids[name] = stack.enter_context(
                _server(
                    "vault.app:app_from_env",
                    {**env, "PYTHONPATH": str(tree)},
                    tmp / f"{name}.log",
                    ports[name],
                    cwd=tree,
                )
            )
        lists = {
            name: _vault_requests(ports[name], made, args.readers, 4000, seed=5) for name in trees
        }
        lists["plain"] = plain_lists
        rates: dict[str, list[float]] = {name: [] for name in ports}
        usage = {name: _Usage() for name in ports}
        answered = 0
        stacks: list[Path] = []
        for round_no in range(args.rounds):
            for name in ports:
                load_many(ports[name], lists[name], connections=32, max_seconds=1.0)
                spy = None
                if args.profile and name == "after":
                    stacks.append(tmp / f"stacks-{round_no}.txt")
                    spy = _spy(pids[name], args.seconds, stacks[-1])
                counted_before = _database_counts(url)
                server_before, database_before = cpu_seconds(pids[name]), database_cpu_seconds()
                system_before = system_cpu_seconds(pids[name])
                switches_before = _context_switches(pids[name])
                client_before = cpu_seconds(os.getpid())
                result = load_many(
                    ports[name], lists[name], connections=32, max_seconds=args.seconds
                )
                used = usage[name]
                used.server_cpu += cpu_seconds(pids[name]) - server_before
                used.database_cpu += database_cpu_seconds() - database_before
                used.client_cpu += cpu_seconds(os.getpid()) - client_before
                used.server_system_cpu += system_cpu_seconds(pids[name]) - system_before
                used.switches += _context_switches(pids[name]) - switches_before
                used.reads += result.ok
                for i, (after, before) in enumerate(
                    zip(_database_counts(url), counted_before, strict=True)
                ):
                    used.counted[i] += after - before
                if spy is not None:
                    spy.wait(timeout=120)
                rates[name].append(result.throughput)
                if result.errors:
                    print(f"{name}: non-200 answers {result.errors}")
            line = ", ".join(f"{n} {rates[n][-1]:.0f} req/s" for n in ports)
            print(f"round {round_no + 1}: {line}")
        for name in trees:
            ratios = [v / p for v, p in zip(rates[name], rates["plain"], strict=True)]
            print(
                f"{name}: ratio to plain, per round: "
                + ", ".join(f"{r:.2f}x" for r in ratios)
                + f"; median {statistics.median(ratios):.2f}x"
            )
        for name, used in usage.items():
            sessions, transactions, inserted = used.counted
            print(
                f"{name}: CPU per read: server {1000 * used.server_cpu / used.reads:.2f} ms "
                f"({1000 * used.server_system_cpu / used.reads:.2f} ms in the kernel, "
                f"{used.switches / used.reads:.1f} context switches), "
                f"database {1000 * used.database_cpu / used.reads:.2f} ms, "
                f"load {1000 * used.client_cpu / used.reads:.2f} ms; per 100 reads: "
                f"{100 * sessions / used.reads:.1f} connections opened, "
                f"{100 * transactions / used.reads:.0f} transactions, "
                f"{100 * inserted / used.reads:.0f} rows inserted"
            )
        answered = _audited_reads(url)
        print(f"record.read events after the load: {answered:,}")
        print(f"`vault audit verify`: {'ok' if _chain_verifies(env) else 'FAILED'}")
        if args.profile and stacks:
            with args.profile.open("w") as out:
                for path in stacks:
                    if path.exists():
                        out.write(path.read_text())
            report(args.profile)


if __name__ == "__main__":
    main()
