"""What every benchmark shares: bounded timing loops, statistics, the result format.

Every loop is bounded twice, by a count and by a time budget, so a benchmark
stops by itself whatever the machine. Every number goes out beside the
baseline measured in the same process, as absolute medians plus their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
if str(REPO) not in sys.path:  # `python bench/run_all.py` puts only bench/ on the path
    sys.path.insert(0, str(REPO))

PACKAGES = ("litestar", "sqlalchemy", "sqlmodel", "cryptography", "cedarpy", "uvicorn", "psycopg")
POSTGRES_URL = os.environ.get(
    "VAULT_BENCH_POSTGRES_URL", "postgresql+psycopg://root@127.0.0.1:5432/test"
)


class Mode(StrEnum):
    """How big a run is: quick (a smoke test), default (`make bench`), full (the issue's sizes)."""

    QUICK = "quick"
    DEFAULT = "default"
    FULL = "full"


def pick(mode: Mode, quick: Any, default: Any, full: Any) -> Any:
    return {Mode.QUICK: quick, Mode.DEFAULT: default, Mode.FULL: full}[mode]


# --------------------------------------------------------------------- timing


def sample(
    fn: Callable[[], object],
    *,
    max_count: int,
    max_seconds: float,
    warmup: int = 3,
    min_count: int = 5,
) -> list[float]:
    """Time ``fn`` one call at a time; stop after ``max_count`` calls or ``max_seconds``."""
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    clock = time.perf_counter
    deadline = clock() + max_seconds
    while len(samples) < max_count and (len(samples) < min_count or clock() < deadline):
        start = clock()
        fn()
        samples.append(clock() - start)
    return samples


def sample_batched(
    fn: Callable[[], object],
    *,
    batch: int,
    max_batches: int,
    max_seconds: float,
    warmup: int = 1,
) -> list[float]:
    """Like :func:`sample` for calls too short to time alone: per-call time of each batch."""
    for _ in range(warmup):
        for _ in range(batch):
            fn()
    samples: list[float] = []
    clock = time.perf_counter
    deadline = clock() + max_seconds
    while len(samples) < max_batches and (len(samples) < 3 or clock() < deadline):
        start = clock()
        for _ in range(batch):
            fn()
        samples.append((clock() - start) / batch)
    return samples


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


# --------------------------------------------------------------------- results


@dataclass
class Row:
    """One comparison: ``value`` of the thing measured against ``baseline_value``.

    ``ratio`` is value / baseline. For a time (µs, ms, s) above 1 means slower
    than the baseline; for a rate (req/s, events/s) below 1 means slower.
    """

    measurement: str
    case: str
    subject: str
    value: float
    baseline: str
    baseline_value: float
    unit: str
    extra: dict[str, float | str] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")


@dataclass
class Target:
    """A goal from the issue and whether this run met it."""

    name: str
    goal: str
    measured: str
    met: bool


@dataclass
class Section:
    name: str
    title: str
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # "ok", or "waiting: ..." when a capability it measures has not landed, or "failed: ..."
    status: str = "ok"
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "rows": [{**asdict(r), "ratio": r.ratio} for r in self.rows],
            "targets": [asdict(t) for t in self.targets],
            "notes": self.notes,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Section:
        rows = [Row(**{k: v for k, v in r.items() if k != "ratio"}) for r in data.get("rows", [])]
        return cls(
            name=data["name"],
            title=data["title"],
            rows=rows,
            targets=[Target(**t) for t in data.get("targets", [])],
            notes=list(data.get("notes", [])),
            status=data.get("status", "ok"),
            seconds=float(data.get("seconds", 0.0)),
        )


def machine() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        # Other work on the machine inflates every absolute number: say how much there was.
        "load_average_1m_5m_15m": [round(x, 2) for x in os.getloadavg()],
    }


def versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in (*PACKAGES, "sqlalchemy-utils", "httpx"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "absent"
    return found


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def write_result(section: Section, mode: Mode) -> Path:
    """Write bench/results/<date>-<name>.json with the machine, versions, date and mode.

    A quick run (a smoke test) writes <date>-<name>-quick.json: it must not replace
    the day's full-size result that the docs cite.
    """
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if mode is Mode.QUICK else ""
    path = RESULTS / f"{today()}-{section.name}{suffix}.json"
    document = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": mode.value,
        "machine": machine(),
        "versions": versions(),
        **section.to_json(),
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path


# ----------------------------------------------------------------- formatting


def fmt(value: float, unit: str) -> str:
    if value != value:  # NaN
        return "n/a"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}"


def table(sections: Iterable[Section]) -> str:
    """One Markdown table of every row, then the targets and notes of each section."""
    lines = [
        "| measurement | case | measured | value | baseline | baseline value | ratio |",
        "| --- | --- | --- | ---: | --- | ---: | ---: |",
    ]
    notes: list[str] = []
    for section in sections:
        if section.status != "ok":
            lines.append(f"| {section.title} | — | {section.status} | | | | |")
        for row in section.rows:
            lines.append(
                f"| {row.measurement} | {row.case} | {row.subject} | {fmt(row.value, row.unit)}"
                f" | {row.baseline} | {fmt(row.baseline_value, row.unit)} | {row.ratio:.2f}x |"
            )
        for target in section.targets:
            mark = "met" if target.met else "NOT met"
            notes.append(
                f"- {section.title}: {target.name}: goal {target.goal}, "
                f"measured {target.measured} ({mark})"
            )
        notes.extend(f"- {section.title}: {note}" for note in section.notes)
    if notes:
        lines += ["", "Targets and notes:", "", *notes]
    return "\n".join(lines)


# --------------------------------------------------------------- module entry


def main(name: str, run: Callable[[Mode], Section]) -> None:
    """Entry point of one benchmark module: run it, write its JSON, print its table."""
    parser = argparse.ArgumentParser(description=f"benchmark: {name}")
    parser.add_argument("--mode", choices=[m.value for m in Mode], default=Mode.DEFAULT.value)
    parser.add_argument("--out", type=Path, help="also write the section's JSON here")
    args = parser.parse_args()
    mode = Mode(args.mode)
    started = time.perf_counter()
    try:
        section = run(mode)
    except Waiting as exc:
        section = Section(name=name, title=name, status=f"waiting: {exc}")
    section.seconds = time.perf_counter() - started
    path = write_result(section, mode)
    if args.out:
        args.out.write_text(json.dumps(section.to_json()))
    print(table([section]))
    print(f"\n(written to {path.relative_to(REPO)})")


class Waiting(Exception):
    """Raised when a capability a benchmark measures is not in the tree yet."""


def need(module: str, what: str) -> Any:
    """Import ``module`` or raise :class:`Waiting` naming what the benchmark waits for."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Waiting(f"{what} ({module}: {exc})") from None


def settings_from_env(env: dict[str, str]) -> Any:
    """The vault's settings as ``vault`` would load them with ``env`` in its environment
    (this process's environment is restored afterwards)."""
    from vault.config import load_settings

    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return load_settings()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
