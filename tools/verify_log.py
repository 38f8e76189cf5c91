#!/usr/bin/env python3
"""Check the vault's transparency log offline: a signed tree head and its proofs.

Needs only Python 3.11 and the ``cryptography`` package; it shares no code with
the vault, so a partner can read it whole. Input is one JSON object (a file
named on the command line, or standard input)::

    {
      "log_key": "<vkey of the log: name+keyid+base64(0x01 || public key)>",
      "head": "<signed checkpoint, the whole note>",
      "witnesses": {"keys": ["<vkey, type 0x04>", ...], "quorum": 1},
      "inclusion": {"leaf": "<base64 leaf bytes>" | "leaf_hash": "<base64>"
                    | "event": {"canonical": "<base64>", "prev_hash": "<base64>"},
                    "index": 7, "size": 12, "path": ["<base64>", ...]},
      "inclusions": [<more objects like "inclusion">, ...],
      "consistency": {"old_head": "<an earlier signed checkpoint>",
                      "proof": ["<base64>", ...]},
      "max_age_seconds": 3600, "now": <POSIX seconds, default the clock>
    }

Everything but ``log_key`` and ``head`` is optional; an object with no
``head`` but a ``proofs`` object (a subject's disclosures from the vault's API,
or the copy of their data from the kiosk) is read as that object. A head's
``time <POSIX seconds>`` line is when the log signed it: with
``max_age_seconds`` the head must be younger, and a consistency proof's newer
head must not be signed before the older one. An audit event
is given as ``event``: its canonical bytes and the chain hash before it; the
leaf is then ``SHA-256(prev_hash || canonical)`` (the event's chain hash), and
the event's own ``seq`` must be ``index + 1``. It prints one
line per check and exits 0 if every check passed, 1 otherwise.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DASH = "\u2014 "
DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")


class Failed(Exception):
    """A check did not pass."""


def b64(text: Any, size: int | None = None) -> bytes:
    if not isinstance(text, str):
        raise Failed("expected a base64 string")
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise Failed("not standard base64") from None
    if base64.b64encode(raw).decode() != text or (size is not None and len(raw) != size):
        raise Failed("not canonical base64 of the expected length")
    return raw


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


def parse_vkey(vkey: Any) -> tuple[str, int, bytes]:
    # The base64 part may itself hold "+": split at the first two only.
    parts = vkey.split("+", 2) if isinstance(vkey, str) else []
    if len(parts) != 3:
        raise Failed("a vkey is name+keyid+base64")
    name, shown_id, raw = parts[0], parts[1], b64(parts[2])
    kind, public_key = (raw[0], raw[1:]) if raw else (0, b"")
    if (
        len(public_key) != 32
        or kind not in (1, 4)
        or key_id(name, kind, public_key).hex() != shown_id
    ):
        raise Failed("the vkey is not an Ed25519 key with its own key ID")
    return name, kind, public_key


def parse_note(note: Any) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The text of a signed note and its signatures (name, key ID, signature), read strictly."""
    if not isinstance(note, str) or not note.endswith("\n") or "\n\n" not in note:
        raise Failed("not a signed note")
    if any(ord(ch) < 0x20 and ch != "\n" for ch in note):
        raise Failed("a control character in the note")
    split = note.rfind("\n\n")
    signatures = []
    for line in note[split + 2 : -1].split("\n"):
        parts = line[len(DASH) :].split(" ")
        if not line.startswith(DASH) or len(parts) != 2 or not parts[0] or "+" in parts[0]:
            raise Failed("a malformed signature line")
        raw = b64(parts[1])
        if len(raw) < 5:
            raise Failed("a signature too short")
        signatures.append((parts[0], raw[:4], raw[4:]))
    return note[: split + 1], signatures


def ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def signed_by(text: str, signatures: list[Any], key: tuple[str, int, bytes]) -> bool:
    """Whether ``key`` signed ``text``; a signature line of that key that fails is fatal."""
    name, kind, public_key = key
    found = False
    for sig_name, sig_id, sig in signatures:
        if (sig_name, sig_id) != (name, key_id(name, kind, public_key)):
            continue
        if kind == 1:
            ok = len(sig) == 64 and ed25519(public_key, text.encode(), sig)
        else:
            stamp = int.from_bytes(sig[:8], "big")
            message = f"cosignature/v1\ntime {stamp}\n{text}".encode()
            ok = len(sig) == 72 and stamp < 2**63 and ed25519(public_key, message, sig[8:])
        if not ok:
            raise Failed("the signature does not verify")
        found = True
    return found


def signed_time(extensions: list[str]) -> int | None:
    """The head's ``time <POSIX seconds>`` extension line, if it has one."""
    times = [line.split(" ") for line in extensions if line.split(" ", 1)[0] == "time"]
    if not times:
        return None
    if len(times) > 1 or len(times[0]) != 2 or not DECIMAL.fullmatch(times[0][1]):
        raise Failed("a malformed time line")
    return int(times[0][1])


def open_head(note: Any, log_key: tuple[str, int, bytes]) -> tuple[str, int, bytes, str, list[Any]]:
    """Origin, size and root of a checkpoint that the log key signed."""
    text, signatures = parse_note(note)
    lines = text[:-1].split("\n")
    if len(lines) < 3 or not lines[0] or not DECIMAL.fullmatch(lines[1]) or "" in lines[3:]:
        raise Failed("not a checkpoint")
    if not signed_by(text, signatures, log_key):
        raise Failed("the signature does not verify")
    return lines[0], int(lines[1]), b64(lines[2], 32), text, signatures


def head_time(text: str) -> int | None:
    return signed_time(text[:-1].split("\n")[3:])


def node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def check_inclusion(
    leaf_hash: bytes, index: int, size: int, path: list[bytes], root: bytes
) -> bool:
    """RFC 9162, section 2.1.3.2."""
    if any(len(h) != 32 for h in (leaf_hash, root, *path)) or not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root  # roots are public: a plain comparison is enough


def check_consistency(m: int, n: int, old: bytes, new: bytes, proof: list[bytes]) -> bool:
    """RFC 9162, section 2.1.4.2 (equal sizes: same root and no proof; size 0: nothing to prove)."""
    if m > n or any(len(h) != 32 for h in (old, new, *proof)):
        return False
    if m == 0:
        return not proof
    if m == n:
        return not proof and old == new
    if not proof:
        return False
    path = [old, *proof] if m & (m - 1) == 0 else list(proof)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node(c, fr), node(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old and sr == new


def number(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise Failed("expected a non-negative integer")
    return value


def event_leaf_hash(event: Any, index: int) -> bytes:
    """The leaf hash of an audit event: its chain hash, hashed as an RFC 9162 leaf."""
    if not isinstance(event, dict):
        raise Failed("an event is a JSON object")
    canonical = b64(event.get("canonical"))
    prev_hash = b64(event.get("prev_hash"), 32)
    try:
        document = json.loads(canonical.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Failed("the event's canonical bytes are not JSON") from None
    if not isinstance(document, dict) or document.get("seq") != index + 1:
        raise Failed(f"the event is not event {index + 1} of the log")
    chain_hash = hashlib.sha256(prev_hash + canonical).digest()
    return hashlib.sha256(b"\x00" + chain_hash).digest()


def check_item(item: Any, size: int, root: bytes) -> tuple[bool, str]:
    """One inclusion proof against the head's root: (passed, the report line)."""
    if not isinstance(item, dict):
        raise Failed("an inclusion proof is a JSON object")
    index = number(item.get("index"))
    what = f"leaf {index}"
    if "event" in item:
        leaf_hash = event_leaf_hash(item["event"], index)
        what = f"event {index + 1} ({event_summary(item['event'])})"
    elif "leaf" in item:
        leaf_hash = hashlib.sha256(b"\x00" + b64(item["leaf"])).digest()
    else:
        leaf_hash = b64(item.get("leaf_hash"), 32)
    at = number(item.get("size", size))
    path = [b64(p, 32) for p in item.get("path", [])]
    passed = at == size and check_inclusion(leaf_hash, index, size, path, root)
    return passed, f"{'ok' if passed else 'FAIL'}: {what} included in tree of size {at}"


def event_summary(event: dict[str, Any]) -> str:
    """What an audit event says, in a few words (its action, time and actor)."""
    document = json.loads(b64(event.get("canonical")).decode("utf-8"))
    parts = [document.get(key) for key in ("action", "time", "actor_role", "actor_org")]
    return " ".join(str(part) for part in parts if part)


def run(request: dict[str, Any], report: list[str]) -> bool:
    if "head" not in request and isinstance(request.get("proofs"), dict):
        request = request["proofs"]  # a disclosures answer or a kiosk copy, given whole
    log_key = parse_vkey(request.get("log_key"))
    origin, size, root, text, signatures = open_head(request.get("head"), log_key)
    report.append(f"ok: head of {origin} at size {size} signed by {log_key[0]}")
    ok = True
    moment = head_time(text)
    if moment is not None:
        report.append(f"ok: head signed at {moment} (POSIX seconds)")
    if "max_age_seconds" in request:
        now = number(request["now"]) if "now" in request else int(time.time())
        passed = moment is not None and now - moment <= number(request["max_age_seconds"])
        ok &= passed
        report.append(f"{'ok' if passed else 'FAIL'}: head signed within the allowed age (time)")
    if "witnesses" in request:
        witnesses = request["witnesses"]
        keys = [parse_vkey(k) for k in witnesses.get("keys", [])]
        quorum = number(witnesses.get("quorum", len(keys)))
        signed = [k[0] for k in keys if k[1] == 4 and signed_by(text, signatures, k)]
        passed = len(signed) >= max(quorum, 1)
        ok &= passed
        report.append(f"{'ok' if passed else 'FAIL'}: cosigned by {len(signed)} of quorum {quorum}")
    items = [request["inclusion"]] if "inclusion" in request else []
    listed = request.get("inclusions", [])
    if not isinstance(listed, list):
        raise Failed("inclusions is a list")
    for item in [*items, *listed]:
        passed, line = check_item(item, size, root)
        ok &= passed
        report.append(line)
    if "consistency" in request:
        item = request["consistency"]
        old_origin, old_size, old_root, old_text, _ = open_head(item.get("old_head"), log_key)
        proof = [b64(p, 32) for p in item.get("proof", [])]
        passed = old_origin == origin and check_consistency(old_size, size, old_root, root, proof)
        ok &= passed
        report.append(f"{'ok' if passed else 'FAIL'}: size {size} extends size {old_size}")
        old_moment = head_time(old_text)
        if old_moment is not None or moment is not None:
            ordered = old_moment is not None and moment is not None and old_moment <= moment
            ok &= ordered
            report.append(f"{'ok' if ordered else 'FAIL'}: the newer head's time is not earlier")
    return ok


def main(argv: list[str]) -> int:
    report: list[str] = []
    try:
        if len(argv) > 1:
            with open(argv[1], encoding="utf-8") as source:
                request = json.load(source)
        else:
            request = json.load(sys.stdin)
        if not isinstance(request, dict):
            raise Failed("the input is a JSON object")
        ok = run(request, report)
    except (Failed, OSError, ValueError, AttributeError, TypeError) as exc:
        report.append(f"FAIL: {exc}")
        ok = False
    print("\n".join(report))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
