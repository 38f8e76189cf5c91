"""tools/verify_log.py, run as a partner would, on heads and proofs made by the library."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.transparency.ed25519 import VaultEd25519
from tests.transparency.logs import ORIGIN, Log, events
from tests.transparency.reference import STRICTER, VECTORS
from vault.transparency import (
    HeadSigner,
    MemoryNodeStore,
    TreeAppender,
    Witness,
    consistency_proof,
    hash_leaf,
    inclusion_proof,
)

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_log.py"
NOW = 1_790_000_000


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def run_tool(request: Any) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, str(TOOL)],
        input=request if isinstance(request, str) else json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, done.stdout


@pytest.fixture(scope="module")
def world() -> dict[str, Any]:
    """An honest log of 13 events with two signed heads (sizes 6 and 13) and a witness."""
    log = Log()
    witness = Witness("partner.example/w", VaultEd25519("partner"), {ORIGIN: [log.signer.key]})
    old = log.append(events(6))
    witness.add_checkpoint(old, 0, [], now=NOW)
    new = log.append(events(7, 6))
    cosigned = new + witness.add_checkpoint(new, 6, log.consistency(6, 13), now=NOW + 1)
    return {"log": log, "old": old, "new": cosigned, "witness": str(witness.key)}


def request(world: dict[str, Any], index: int = 4) -> dict[str, Any]:
    log: Log = world["log"]
    return {
        "log_key": str(log.signer.key),
        "head": world["new"],
        "witnesses": {"keys": [world["witness"]], "quorum": 1},
        "inclusion": {
            "leaf": b64(log.leaves[index]),
            "index": index,
            "size": 13,
            "path": [b64(p) for p in log.inclusion(index, 13)],
        },
        "consistency": {
            "old_head": world["old"],
            "proof": [b64(p) for p in log.consistency(6, 13)],
        },
    }


def test_an_honest_log_passes_every_check(world: dict[str, Any]) -> None:
    """The signature, the cosignature quorum, the inclusion and the consistency all pass."""
    code, out = run_tool(request(world))
    assert code == 0, out
    assert out.count("ok:") == 4
    by_hash = request(world)
    by_hash["inclusion"]["leaf_hash"] = b64(hash_leaf(world["log"].leaves[4]))
    del by_hash["inclusion"]["leaf"]
    assert run_tool(by_hash)[0] == 0


def test_a_changed_leaf_fails(world: dict[str, Any]) -> None:
    """The honest proof does not include a leaf whose bytes were changed."""
    changed = request(world)
    changed["inclusion"]["leaf"] = b64(b"event 4, edited")
    code, out = run_tool(changed)
    assert code == 1
    assert "FAIL: leaf 4" in out


def _rewritten(world: dict[str, Any], leaves: list[bytes]) -> dict[str, Any]:
    """A request built from a rewritten log, re-signed with the log's own key."""
    log: Log = world["log"]
    store = MemoryNodeStore()
    root = TreeAppender(store).append(leaves)
    forged_head = HeadSigner(ORIGIN, log.key).sign_first(len(leaves), root)
    return {
        "log_key": str(log.signer.key),
        "head": forged_head,
        "inclusion": {
            "leaf": b64(leaves[4]),
            "index": 4,
            "path": [b64(p) for p in inclusion_proof(store, 4, len(leaves))],
        },
        "consistency": {
            "old_head": world["old"],
            "proof": [b64(p) for p in consistency_proof(store, 6, len(leaves))],
        },
    }


@pytest.mark.parametrize("rewrite", ["removed", "changed", "reordered"])
def test_a_rewritten_log_fails_against_an_earlier_head(world: dict[str, Any], rewrite: str) -> None:
    """A log with a leaf removed, changed or reordered, even re-signed, is not consistent."""
    honest: list[bytes] = world["log"].leaves
    leaves = {
        "removed": honest[:2] + honest[3:],
        "changed": [*honest[:2], b"event 2, edited", *honest[3:]],
        "reordered": [*honest[:2], honest[3], honest[2], *honest[4:]],
    }[rewrite]
    code, out = run_tool(_rewritten(world, [*leaves, b"one more"]))
    assert code == 1
    assert "FAIL: size" in out


def test_the_rewritten_trees_proofs_fail_against_the_honest_head(world: dict[str, Any]) -> None:
    """An inclusion proof from a tree with a leaf removed does not verify under the signed head."""
    honest: list[bytes] = world["log"].leaves
    forged = _rewritten(world, honest[:2] + honest[3:])
    mixed = request(world)
    mixed["inclusion"] = {**forged["inclusion"], "size": 13}
    code, out = run_tool(mixed)
    assert code == 1
    assert "FAIL: leaf 4" in out


def test_bad_signatures_and_missing_cosignatures_fail(world: dict[str, Any]) -> None:
    """An altered head, another log key, or an unmet witness quorum makes the tool fail."""
    altered = request(world)
    altered["head"] = world["new"].replace("\n13\n", "\n12\n", 1)
    assert run_tool(altered)[0] == 1
    other_key = request(world)
    other_key["log_key"] = str(HeadSigner(ORIGIN, VaultEd25519("stranger")).key)
    assert run_tool(other_key)[0] == 1
    uncosigned = request(world)
    uncosigned["head"] = world["log"].heads[-1]
    code, out = run_tool(uncosigned)
    assert code == 1
    assert "FAIL: cosigned by 0" in out


@pytest.mark.parametrize("bad", ["not json", "[]", '{"log_key": 5}', '{"log_key": "a+b+c"}'])
def test_malformed_input_fails(bad: str) -> None:
    """Input that is not the expected JSON object exits 1 with a FAIL line, not a traceback."""
    code, out = run_tool(bad)
    assert code == 1
    assert out.startswith("FAIL:")


def _tool_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_log", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tool_agrees_with_the_reference_vectors() -> None:
    """The tool's own RFC 9162 verifiers accept and refuse exactly the reference cases."""
    tool = _tool_module()
    d = base64.b64decode
    for case in VECTORS["inclusion"]:
        got = tool.check_inclusion(
            d(case["leafHash"]),
            case["leafIdx"],
            case["treeSize"],
            [d(p) for p in case["proof"] or []],
            d(case["root"]),
        )
        assert got is not case["wantErr"], case["file"]
    for case in VECTORS["consistency"]:
        if case["size1"] == 0 or case["file"] in STRICTER:
            continue  # the tool takes size 0 as trivially consistent, the library refuses it
        got = tool.check_consistency(
            case["size1"],
            case["size2"],
            d(case["root1"]),
            d(case["root2"]),
            [d(p) for p in case["proof"] or []],
        )
        assert got is not case["wantErr"], case["file"]


def _timed_heads(old_time: int, new_time: int) -> tuple[Log, str, str]:
    """A log whose two heads (sizes 3 and 5) carry signed `time` lines."""
    log = Log()
    store, tree = log.store, log.tree
    old_root = tree.append(events(3))
    old = log.signer.sign_first(3, old_root, [f"time {old_time}"])
    new_root = tree.append(events(2, 3))
    new = log.signer.sign_next(
        old, 5, new_root, consistency_proof(store, 3, 5), [f"time {new_time}"]
    )
    return log, old, new


def test_a_head_older_than_the_allowed_age_fails() -> None:
    """With `max_age_seconds` and `now`, the head's signed time decides; no time line fails."""
    log, old, new = _timed_heads(NOW - 7200, NOW - 60)
    fresh = {"log_key": str(log.signer.key), "head": new, "max_age_seconds": 3600, "now": NOW}
    code, out = run_tool(fresh)
    assert code == 0, out
    assert f"signed at {NOW - 60}" in out
    assert run_tool({**fresh, "head": old})[0] == 1
    untimed = Log()
    head = untimed.append(events(2))
    code, out = run_tool({**fresh, "log_key": str(untimed.signer.key), "head": head})
    assert code == 1
    assert "time" in out


def test_a_re_dated_head_fails_its_signature() -> None:
    """Changing the `time` line of a signed head breaks the log's signature."""
    log, _, new = _timed_heads(NOW - 7200, NOW - 7200)
    redated = new.replace(f"time {NOW - 7200}", f"time {NOW - 60}")
    code, out = run_tool({"log_key": str(log.signer.key), "head": redated})
    assert code == 1, out


def test_a_newer_head_signed_earlier_than_the_older_fails() -> None:
    """A consistency check between heads whose signed times go backwards fails."""
    log, old, new = _timed_heads(NOW - 60, NOW - 7200)
    request_ = {
        "log_key": str(log.signer.key),
        "head": new,
        "consistency": {
            "old_head": old,
            "proof": [b64(p) for p in consistency_proof(log.store, 3, 5)],
        },
    }
    code, out = run_tool(request_)
    assert code == 1
    assert "time" in out
