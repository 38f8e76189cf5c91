"""Runs tools/verify_log.py as a subject's lawyer would: a separate process, JSON on stdin."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_log.py"


def verify_log(bundle: Any) -> tuple[bool, str]:
    """(whether every check passed, the tool's report)."""
    done = subprocess.run(
        [sys.executable, str(TOOL)],
        input=json.dumps(bundle),
        text=True,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0, done.stdout


def altered(bundle: dict[str, Any], position: int = 0) -> dict[str, Any]:
    """The bundle with one event's purpose changed in its canonical bytes."""
    import base64
    import copy

    changed = copy.deepcopy(bundle)
    proofs = changed.get("proofs", changed)
    event = proofs["inclusions"][position]["event"]
    document = json.loads(base64.b64decode(event["canonical"]))
    document["purpose"] = "statistics"
    raw = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    event["canonical"] = base64.b64encode(raw.encode()).decode()
    return changed
