"""CPU seconds of a process and of the machine's PostgreSQL, read from /proc (Linux).

A benchmark's ratio says how much slower; these say where the time went: the
server, the database and the load generator share a small machine's cores.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cpu_seconds", "database_cpu_seconds", "system_cpu_seconds"]


def _cpu_ticks(pid: int) -> list[int]:
    """Fields 14-17 of proc(5) for one process (utime, stime, cutime, cstime); zeros if gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return [0, 0, 0, 0]
    return [int(f) for f in fields[11:15]]  # counted after the ")"


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process and of its reaped children, in seconds."""
    return sum(_cpu_ticks(pid)) / os.sysconf("SC_CLK_TCK")


def system_cpu_seconds(pid: int) -> float:
    """The kernel's share of ``cpu_seconds``: wake-ups, locks and sockets."""
    return _cpu_ticks(pid)[1] / os.sysconf("SC_CLK_TCK")


def database_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on this machine (0 for SQLite, which has none)."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip().startswith("postgres"):
                    total += cpu_seconds(int(proc.name))
            except OSError:
                continue
    return total
