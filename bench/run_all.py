"""Run every benchmark, each in its own process, and print one table.

    python bench/run_all.py            # `make bench`: the default sizes, under 10 minutes
    python bench/run_all.py --quick    # a smoke run of every benchmark (about a minute or two)
    python bench/run_all.py --full     # the issue's full sizes (1M records, 1M audit events,
                                       # a dashboard over 10M audit events)
    python bench/run_all.py crypto audit   # only these

Each module writes bench/results/<date>-<name>.json; the combined table goes
to stdout and between the markers of bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import REPO, Mode, Section, machine, table, today, versions

# Cheapest first, so a short run still shows the most.
MODULES = (
    "crypto",
    "policy",
    "audit",
    "transparency",
    "dashboard",
    "rotation",
    "scale",
    "http_read",
    "caseload",
)
# Per module, in seconds; the default sizes stay well inside (they sum to < 10 minutes).
TIMEOUTS = {Mode.QUICK: 180, Mode.DEFAULT: 300, Mode.FULL: 1800}
# The caseload builds its subjects through the services first (bench/caseload.py); the
# dashboard writes and verifies a log of 10 million events in full mode (bench/dashboard.py).
SLOW = {"caseload": 3, "dashboard": 2}
README = REPO / "bench" / "README.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def run_module(name: str, mode: Mode) -> Section:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "section.json"
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", f"bench.{name}", "--mode", mode.value, "--out", str(out)],
                cwd=REPO,
                timeout=TIMEOUTS[mode] * SLOW.get(name, 1),
                capture_output=True,
                text=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return Section(
                name, name, status=f"failed: over {TIMEOUTS[mode] * SLOW.get(name, 1)} s, stopped"
            )
        elapsed = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return Section(name, name, status="failed: " + " / ".join(tail), seconds=elapsed)
        return Section.from_json(json.loads(out.read_text()))


def update_readme(text: str, mode: Mode) -> None:
    if not README.exists():
        return
    current = README.read_text()
    if BEGIN not in current or END not in current:
        return
    head, rest = current.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    info = machine()
    ver = versions()
    stamp = (
        f"Run of {today()} (`--mode {mode.value}`) on {info['cpu_model']}, {info['cores']} cores "
        f"(load average at the end {info['load_average_1m_5m_15m']}); "
        + ", ".join(f"{k} {v}" for k, v in ver.items())
        + "."
    )
    README.write_text(f"{head}{BEGIN}\n{stamp}\n\n{text}\n{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description="run the vault's benchmarks")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    size.add_argument("--full", action="store_true", help="the full sizes (1M rows); slow")
    parser.add_argument("--no-readme", action="store_true", help="leave bench/README.md alone")
    parser.add_argument("only", nargs="*", help=f"run only these, of: {', '.join(MODULES)}")
    args = parser.parse_args()
    unknown = set(args.only) - set(MODULES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    mode = Mode.QUICK if args.quick else Mode.FULL if args.full else Mode.DEFAULT
    names = args.only or list(MODULES)
    sections = []
    started = time.perf_counter()
    for name in names:
        print(f"== {name} ({mode.value}) ...", flush=True)
        section = run_module(name, mode)
        print(f"   {section.status} in {section.seconds:.1f} s", flush=True)
        sections.append(section)
    text = table(sections)
    print()
    print(text)
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    if not args.no_readme and set(names) == set(MODULES):
        update_readme(text, mode)


if __name__ == "__main__":
    main()
