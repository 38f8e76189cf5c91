"""The reference test vectors the transparency tests share (a helper module, not a test)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "transparency-dev-merkle.json").read_text()
)
# The one reference case we answer differently, on purpose: its "roots" are
# 12-byte placeholders ("don't care 2"); we refuse any hash that is not 32 bytes.
STRICTER = {"testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"}
