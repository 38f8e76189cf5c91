"""The witness: cosigns consistent heads, refuses rewritten, shrunk or forked logs."""

from __future__ import annotations

import pytest

from tests.transparency.ed25519 import VERIFIER, VaultEd25519
from tests.transparency.logs import ORIGIN, Log, events
from vault.transparency import (
    HeadSigner,
    InconsistentHead,
    MemoryNodeStore,
    Note,
    NoteMalformed,
    OldSizeTooLarge,
    StaleOldSize,
    TreeAppender,
    TreeHead,
    UnknownLog,
    UntrustedCheckpoint,
    Witness,
    consistency_proof,
    open_checkpoint,
    parse_add_checkpoint,
    render_add_checkpoint,
)

NOW = 1_790_000_000
NAME = "partner.example/witness"


def make(log: Log) -> Witness:
    return Witness(NAME, VaultEd25519("partner witness"), {ORIGIN: [log.signer.key]})


def test_a_cosigned_head_verifies_for_a_client_requiring_the_witness() -> None:
    """The witness's cosignature, appended to the head, verifies with the log's and its own key."""
    log = Log()
    witness = make(log)
    head = log.append(events(3))
    cosignature = witness.add_checkpoint(head, 0, [], now=NOW)
    assert cosignature.startswith(f"\u2014 {NAME} ")
    cosigned = head + cosignature
    opened = open_checkpoint(cosigned, [log.signer.key, witness.key], VERIFIER)
    assert opened.signed_by(ORIGIN)
    assert opened.signed_by(NAME)
    assert witness.latest(ORIGIN) == TreeHead(3, log.tree.root())
    head = log.append(events(9, 3))
    witness.add_checkpoint(head, 3, log.consistency(3, 12), now=NOW + 60)
    assert witness.state() == {ORIGIN: TreeHead(12, log.tree.root())}


def test_the_witness_refuses_a_rewritten_log() -> None:
    """After cosigning size 6, a head over a log with one leaf changed is refused, state kept."""
    log = Log()
    witness = make(log)
    witness.add_checkpoint(log.append(events(6)), 0, [], now=NOW)
    rewritten = [b"changed", *log.leaves[1:], *events(4, 6)]
    store = MemoryNodeStore()
    root = TreeAppender(store).append(rewritten)
    # The operator holds the log key, so the forged head carries a valid signature.
    head = HeadSigner(ORIGIN, log.key).sign_first(10, root)
    with pytest.raises(InconsistentHead):
        witness.add_checkpoint(head, 6, consistency_proof(store, 6, 10), now=NOW)
    assert witness.latest(ORIGIN) == TreeHead(6, log.tree.root())


def test_the_witness_refuses_a_smaller_tree_and_a_fork_at_the_same_size() -> None:
    """A smaller tree, or the same size with another root, gets no cosignature."""
    log = Log()
    witness = make(log)
    witness.add_checkpoint(log.append(events(8)), 0, [], now=NOW)
    operator = HeadSigner(ORIGIN, log.key)
    smaller_root = TreeAppender(MemoryNodeStore()).append(events(5))
    smaller = operator.sign_first(5, smaller_root)
    with pytest.raises(OldSizeTooLarge):
        witness.add_checkpoint(smaller, 8, [], now=NOW)
    with pytest.raises(StaleOldSize) as stale:
        witness.add_checkpoint(smaller, 5, [], now=NOW)
    assert stale.value.latest_size == 8
    assert stale.value.status == 409
    fork = HeadSigner(ORIGIN, log.key).sign_first(8, b"\x33" * 32)
    with pytest.raises(InconsistentHead):
        witness.add_checkpoint(fork, 8, [], now=NOW)
    assert witness.latest(ORIGIN) == TreeHead(8, log.tree.root())


def test_the_witness_checks_the_logs_signature() -> None:
    """A head of an unknown log, by another key, or altered is refused with the right status."""
    log = Log()
    witness = make(log)
    other_origin = Log(origin="elsewhere.example/log")
    with pytest.raises(UnknownLog) as unknown:
        witness.add_checkpoint(other_origin.append(events(2)), 0, [], now=NOW)
    assert unknown.value.status == 404
    impostor = Log(key_label="impostor")
    with pytest.raises(UntrustedCheckpoint) as untrusted:
        witness.add_checkpoint(impostor.append(events(2)), 0, [], now=NOW)
    assert untrusted.value.status == 403
    altered = log.append(events(2)).replace("\n2\n", "\n3\n", 1)
    with pytest.raises(UntrustedCheckpoint):
        witness.add_checkpoint(altered, 0, [], now=NOW)
    assert witness.latest(ORIGIN) is None


def test_a_first_contact_needs_no_proof_and_accepts_none() -> None:
    """From size zero the witness takes any signed head, but only with an empty proof."""
    log = Log()
    witness = make(log)
    head = log.append(events(4))
    with pytest.raises(InconsistentHead):
        witness.add_checkpoint(head, 0, [b"\x00" * 32], now=NOW)
    witness.cosign(head, [], now=NOW)
    assert witness.latest(ORIGIN) == TreeHead(4, log.tree.root())


def test_add_checkpoint_requests_round_trip() -> None:
    """An add-checkpoint body renders and parses back to the same size, proof and note."""
    log = Log()
    log.append(events(5))
    head = log.append(events(6, 5))
    body = render_add_checkpoint(5, log.consistency(5, 11), head)
    old_size, proof, note = parse_add_checkpoint(body.encode())
    assert (old_size, proof, note) == (5, log.consistency(5, 11), Note.parse(head))
    witness = Witness(
        NAME, VaultEd25519("w"), {ORIGIN: [log.signer.key]}, {ORIGIN: TreeHead(5, _root(log, 5))}
    )
    witness.add_checkpoint(note, old_size, proof, now=NOW)
    for bad in (
        "old 05\n\n" + head,
        "old 5\n" + head,
        "new 5\n\n" + head,
        "old 5\nAAAA\n\n" + head,
    ):
        with pytest.raises(NoteMalformed):
            parse_add_checkpoint(bad)


def _root(log: Log, size: int) -> bytes:
    return TreeAppender(MemoryNodeStore()).append(log.leaves[:size])
