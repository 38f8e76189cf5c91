"""Where the time of a full-stack read goes: py-spy samples the vault server under load.

    .venv/bin/pip install py-spy      # not a dependency of the vault; only for this
    .venv/bin/python -m bench.profile_read [--seconds 15] [--connections 32]

Prepares the vault exactly as ``http_read`` does, loads the record read, and
has py-spy sample the server process (all threads, idle ones left out). Prints
the share of samples spent inside each of the vault's steps (inclusive, so
they overlap when one step calls another) and the hottest functions by own
time. Not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from bench.common import REPO
from bench.http_read import (
    _free_port,
    _prepare_data,
    _prepare_users,
    _server,
    _settings_env,
)
from bench.loadgen import LoadResult, load

# Frames (substring of "function (file)") whose inclusive share is reported.
STEPS = {
    "token check on its own (authenticate)": "authenticate_digest (vault/identity/logins.py",
    "token check inside the read (confirms)": "confirms (vault/identity/bearer.py",
    "policy decision (PolicyEngine.decide)": "decide (vault/access/engine.py",
    "consent lookup (active_consents)": "active_consents (vault/consent/service.py",
    "assignment / break-glass facts": "(vault/access/facts.py",
    "read before the audit event (plan)": "plan_for (vault/records/reading.py",
    "read after the audit event (disclose)": "disclose (vault/records/reading.py",
    "subject key (row + unwrap)": "(vault/keys/service.py",
    "field decryption (open_fields)": "open_fields (vault/records/fieldcrypt.py",
    "queries on the bare cursor": "execute (vault/cursor_reads.py",
    "SQLAlchemy ORM": "(sqlalchemy/orm/",
    "audit event queued (append_async)": "append_async (vault/audit/log.py",
    "audit writer thread: batch transaction": "_write (vault/audit/log.py",
    "Litestar request handling": "(litestar/",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--stacks", type=Path, help="also keep py-spy's raw stacks here")
    parser.add_argument(
        "--gil", action="store_true", help="sample only the thread holding the GIL (CPU work)"
    )
    args = parser.parse_args()
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        sys.exit("py-spy is not installed: .venv/bin/pip install py-spy")
    with tempfile.TemporaryDirectory(prefix="vault-bench-prof-") as tmp_name:
        tmp = Path(tmp_name)
        port = _free_port()
        env = {**os.environ, "PYTHONPATH": str(REPO), **_settings_env(tmp, port)}
        _prepare_users(_settings_env(tmp, port))
        out = tmp / "stacks.txt"
        with _server("vault.app:app_from_env", env, tmp / "vault.log", port) as pid:
            path, headers = _prepare_data(port)
            record = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--duration",
                    str(args.seconds),
                    "--rate",
                    "200",
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                    "--threads",
                    *(["--gil"] if args.gil else []),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            results: list[LoadResult] = []
            loader = threading.Thread(
                target=lambda: results.append(
                    load(
                        port,
                        path,
                        headers,
                        connections=args.connections,
                        max_requests=10**6,
                        max_seconds=args.seconds + 2,
                    )
                )
            )
            loader.start()
            record.wait(timeout=args.seconds + 60)
            loader.join()
            for result in results:
                print(f"{result.throughput:.1f} req/s; non-200 answers: {result.errors or 'none'}")
        if args.stacks:
            shutil.copyfile(out, args.stacks)
        report(out)


def report(stacks: Path) -> None:
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    sql_by_caller: Counter[str] = Counter()
    for line in stacks.read_text().splitlines():
        frames_text, _, count_text = line.rpartition(" ")
        if not count_text.isdigit():
            continue
        count = int(count_text)
        frames = frames_text.split(";")
        # Idle threads (waiting on a queue, a lock or the event loop) are not work.
        leaf = frames[-1]
        if any(
            word in leaf
            for word in ("wait (threading.py", "select (selectors.py", "_worker (concurrent")
        ):
            continue
        total += count
        seen = set()
        for name, marker in STEPS.items():
            if any(marker in f for f in frames) and name not in seen:
                inclusive[name] += count
                seen.add(name)
        own[leaf] += count
        if "sqlalchemy/engine/default.py" in leaf or "(vault/cursor_reads.py" in leaf:
            callers = [f for f in frames if "(vault/" in f]
            sql_by_caller[callers[-1] if callers else "(outside the vault)"] += count
    print(f"{total} busy samples\n\nshare of busy samples inside each step (inclusive):")
    for name, count in inclusive.most_common():
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("\ntime inside the database driver, by the deepest vault frame calling it:")
    for name, count in sql_by_caller.most_common(12):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print("\nhottest functions by own time:")
    for name, count in own.most_common(20):
        print(f"  {100 * count / total:5.1f}%  {name}")


if __name__ == "__main__":
    main()
