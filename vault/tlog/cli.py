"""``vault witness``: a witness with its own key that cosigns the audit log's consistent heads.

A partner agency runs it apart from the vault. Its state file holds its Ed25519
seed (mode 0600), the logs it follows (their vkeys) and the last head it
cosigned of each; it is rewritten atomically after each cosignature, under an
exclusive lock, so two runs cannot both pass against one state.

- ``vault witness init STATE --name NAME --log VKEY``: a new key; prints its vkey.
- ``vault witness request --old-size N``: on the vault's host, the
  ``add-checkpoint`` body (old size, consistency proof, newest signed head).
- ``vault witness cosign STATE REQUEST``: checks the request and prints the
  cosignature line; exit 1 with the reason when it refuses (a rewritten log,
  a head signed before the last one it cosigned or more than ``--max-skew``
  seconds ahead of its clock, or a head with no signed time unless
  ``--allow-untimed``: the vault signs a time into every head).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from vault.config import Settings
from vault.errors import VaultError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[Any]) -> None:
    witness = sub.add_parser(
        "witness",
        help="a witness that cosigns the audit log's tree heads while the log only grows",
    )
    actions = witness.add_subparsers(dest="witness_command", required=True, metavar="ACTION")
    p = actions.add_parser("init", help="create a witness key and state file")
    p.add_argument("state", type=Path)
    p.add_argument("--name", required=True, help="the witness's name, e.g. bapas.example/witness")
    p.add_argument("--log", required=True, action="append", help="the log's vkey (repeatable)")
    p.set_defaults(handler=cmd_init)
    p = actions.add_parser("request", help="(on the vault) the add-checkpoint body for a witness")
    p.add_argument("--old-size", type=int, required=True, help="the size the witness last cosigned")
    p.set_defaults(handler=cmd_request)
    p = actions.add_parser(
        "cosign",
        help="check an add-checkpoint request (or fetch one with --url); print the cosignature",
    )
    p.add_argument("state", type=Path)
    p.add_argument("request", type=Path, nargs="?", help="an add-checkpoint body (without --url)")
    p.add_argument(
        "--url",
        help="the vault's address: fetch its newest head and proof, post the cosignature back",
    )
    p.add_argument(
        "--max-skew",
        type=int,
        default=300,
        help="seconds a head's signed time may be ahead of this clock (default 300)",
    )
    p.add_argument(
        "--allow-untimed",
        action="store_true",
        help="cosign heads without a signed time (a log that signs none; never this vault)",
    )
    p.set_defaults(handler=cmd_cosign)


def _signer(seed: bytes) -> Any:
    from vault.audit.heads import NoteSigner
    from vault.crypto.signing import Signer

    return NoteSigner(Signer(seed))


def _write(path: Path, state: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def cmd_init(args: argparse.Namespace, settings: Settings) -> int:
    from vault.transparency import COSIGNATURE_V1, VerifierKey

    if args.state.exists():
        print(f"{args.state} exists: a witness keeps its key", file=sys.stderr)
        return 1
    logs: dict[str, list[str]] = {}
    for vkey in args.log:
        key = VerifierKey.parse(vkey)
        logs.setdefault(key.name, []).append(str(key))
    seed = secrets.token_bytes(32)
    state = {"name": args.name, "seed": seed.hex(), "logs": logs, "latest": {}}
    _write(args.state, state)
    print(VerifierKey(args.name, _signer(seed).public_key, COSIGNATURE_V1))
    return 0


def cmd_request(args: argparse.Namespace, settings: Settings) -> int:
    from vault.audit.proofs import ProofSource
    from vault.registry import open_services
    from vault.transparency import render_add_checkpoint

    services = open_services(settings)
    try:
        services.audit.checkpoint_now()
        keeper = services.audit.heads()
        if keeper is None:
            print("this vault signs no tree heads", file=sys.stderr)
            return 1
        source = ProofSource(services.audit.engine, keeper)
        latest = source.latest()
        proof: list[bytes] = []
        if args.old_size:
            bundle = source.consistency(args.old_size, latest.size)
            proof = [base64.b64decode(p) for p in bundle["consistency"]["proof"]]
    finally:
        services.close()
    sys.stdout.write(render_add_checkpoint(args.old_size, proof, latest.note))
    return 0


def _witness(state: dict[str, Any], max_skew: int, *, require_time: bool) -> Any:
    """The witness of a state file; ``latest`` holds [size, root, signed time] per log."""
    from vault.transparency import TreeHead, VerifierKey, Witness

    return Witness(
        state["name"],
        _signer(bytes.fromhex(state["seed"])),
        {origin: [VerifierKey.parse(k) for k in keys] for origin, keys in state["logs"].items()},
        {
            origin: TreeHead(int(head[0]), base64.b64decode(head[1]))
            for origin, head in state["latest"].items()
        },
        times={
            origin: int(head[2])
            for origin, head in state["latest"].items()
            if len(head) > 2 and head[2] is not None
        },
        max_skew=max_skew,
        require_time=require_time,
    )


def _fetch(url: str, old_size: int) -> tuple[int, list[bytes], str]:
    """(old size, consistency proof, newest signed head) from the vault's witness route."""
    import urllib.request

    with urllib.request.urlopen(  # noqa: S310  (an operator-given http(s) address)
        f"{url.rstrip('/')}/v1/audit/heads/latest?from={old_size}", timeout=30
    ) as answer:
        body = json.loads(answer.read(1 << 20))
    return int(body["old_size"]), [base64.b64decode(p) for p in body["proof"]], str(body["head"])


def _post(url: str, size: int, line: str) -> tuple[bool, str]:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310  (an operator-given http(s) address)
        f"{url.rstrip('/')}/v1/audit/heads/{size}/cosignatures",
        data=json.dumps({"cosignature": line}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  (as above)
            return True, answer.read(4096).decode("utf-8", "replace")
    except urllib.error.HTTPError as refused:
        return False, refused.read(4096).decode("utf-8", "replace")


def cmd_cosign(args: argparse.Namespace, settings: Settings) -> int:
    from vault.transparency import Note, parse_add_checkpoint

    if (args.url is None) == (args.request is None):
        print("give either an add-checkpoint request file or --url", file=sys.stderr)
        return 2
    with args.state.open("r+", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = json.load(lock)
        witness = _witness(state, args.max_skew, require_time=not args.allow_untimed)
        try:
            if args.url is not None:
                if len(state["logs"]) != 1:
                    print("with --url, a witness follows exactly one log", file=sys.stderr)
                    return 2
                (origin,) = state["logs"]
                try:
                    old_size, proof, note = _fetch(
                        args.url, int(state["latest"].get(origin, [0])[0])
                    )
                except (OSError, ValueError, KeyError) as exc:
                    print(f"could not fetch the newest head: {exc}", file=sys.stderr)
                    return 1
                mine = (state["name"], witness.key.key_id)
                if any((s.name, s.key_id) == mine for s in Note.parse(note).signatures):
                    print("the newest head already carries this witness's cosignature")
                    return 0
                line = witness.add_checkpoint(note, old_size, proof, now=int(time.time()))
                size = witness.state()[origin].size
            else:
                old_size, proof, request = parse_add_checkpoint(args.request.read_bytes())
                line = witness.add_checkpoint(request, old_size, proof, now=int(time.time()))
        except VaultError as exc:
            print(f"refused: {exc}", file=sys.stderr)
            return 1
        times = witness.times()
        state["latest"] = {
            origin: [head.size, base64.b64encode(head.root).decode("ascii"), times.get(origin)]
            for origin, head in witness.state().items()
        }
        _write(args.state, state)
    if args.url is not None:
        posted, answer = _post(args.url, size, line.rstrip("\n"))
        if not posted:
            print(f"the vault did not take the cosignature: {answer}", file=sys.stderr)
            return 1
    print(line)
    return 0
