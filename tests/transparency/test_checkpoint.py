"""C2SP checkpoints: strict parsing, the prev chain, and the signer that refuses a rewrite."""

from __future__ import annotations

import base64
import itertools

import pytest

from tests.transparency.ed25519 import VERIFIER, VaultEd25519
from tests.transparency.logs import ORIGIN, Log, events
from vault.errors import SignatureInvalid
from vault.transparency import (
    EMPTY_HEAD,
    EMPTY_ROOT,
    Checkpoint,
    HeadSigner,
    InconsistentHead,
    MemoryNodeStore,
    NoteMalformed,
    TreeAppender,
    TreeHead,
    check_follows,
    consistency_proof,
    open_checkpoint,
)

ROOT = base64.b64encode(b"\x11" * 32).decode()
# From c2sp.org/tlog-checkpoint (C2SP/C2SP, tlog-checkpoint.md): the example's note text.
SPEC_TEXT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_the_specification_example_parses_and_renders_back() -> None:
    """The tlog-checkpoint example's text parses into its three fields and renders identically."""
    checkpoint = Checkpoint.parse(SPEC_TEXT)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert base64.b64encode(checkpoint.root).decode() == SPEC_TEXT.split("\n")[2]
    assert checkpoint.extensions == ()
    assert checkpoint.previous is None
    assert checkpoint.text() == SPEC_TEXT


@pytest.mark.parametrize(
    "bad",
    [
        f"o\n5\n{ROOT}",  # no final newline
        "o\n5\n",  # no root
        f"\n5\n{ROOT}\n",  # empty origin
        f"o\n05\n{ROOT}\n",  # leading zero
        f"o\n+5\n{ROOT}\n",  # sign
        f"o\n5.0\n{ROOT}\n",  # not an integer
        f"o\n18446744073709551616\n{ROOT}\n",  # above 2**64 - 1
        f"o\n\u0665\n{ROOT}\n",  # a non-ASCII digit
        "o\n5\nEREREREREREREREREREREREREREREREREREREREREQ==\n",  # 31 bytes
        f"o\n5\n{ROOT[:-1]}\n",  # unpadded
        f"o\n5\n{ROOT}\n\n",  # an empty extension line
        f"o\n0\n{ROOT}\n",  # size 0 with a root that is not the empty tree's
        f"o\n5\n{ROOT}\nprev 4\n",  # a prev line without a root
        f"o\n5\n{ROOT}\nprev 04 {ROOT}\n",  # a prev size with a leading zero
        f"o\n5\n{ROOT}\nprev 4 {ROOT}\nprev 3 {ROOT}\n",  # two prev lines
    ],
)
def test_malformed_checkpoints_are_refused(bad: str) -> None:
    """Every malformed checkpoint text is refused when parsing."""
    Checkpoint.parse(f"o\n5\n{ROOT}\nprev 4 {ROOT}\nanything else\n")
    with pytest.raises(NoteMalformed):
        Checkpoint.parse(bad)


def test_signed_heads_form_a_chain_anyone_can_walk() -> None:
    """Each signed head names the one before it, and each link checks with a consistency proof."""
    log = Log()
    sizes = [1, 2, 5, 5, 64, 100]
    for size in sizes:
        log.append(events(size - log.tree.size, log.tree.size))
    opened = [open_checkpoint(h, [log.signer.key], VERIFIER).checkpoint for h in log.heads]
    assert opened[0].previous == EMPTY_HEAD
    assert [c.size for c in opened] == sizes
    for previous, new in itertools.pairwise(opened):
        check_follows(previous, new, log.consistency(previous.size, new.size))
    with pytest.raises(InconsistentHead, match="does not name"):
        check_follows(opened[0], opened[2], log.consistency(1, 5))


def test_the_signer_refuses_a_rewritten_log() -> None:
    """Given a changed, removed or reordered leaf, no consistency proof lets the signer sign."""
    log = Log()
    log.append(events(10))
    honest = log.leaves
    for rewritten in (
        [b"changed", *honest[1:]],
        honest[:3] + honest[4:],
        [honest[1], honest[0], *honest[2:]],
    ):
        store = MemoryNodeStore()
        root = TreeAppender(store).append([*rewritten, *events(6, 100)])
        size = len(rewritten) + 6
        with pytest.raises(InconsistentHead, match="refusing to sign"):
            log.signer.sign_next(log.heads[-1], size, root, consistency_proof(store, 10, size))


def test_the_signer_refuses_a_smaller_tree_or_another_root_at_the_same_size() -> None:
    """A head below the previous size, or of the same size with another root, is not signed."""
    log = Log()
    log.append(events(8))
    smaller = Log()
    smaller.append(events(5))
    with pytest.raises(InconsistentHead, match="smaller"):
        log.signer.sign_next(log.heads[-1], 5, smaller.tree.root(), [])
    with pytest.raises(InconsistentHead, match="same root"):
        log.signer.sign_next(log.heads[-1], 8, b"\x22" * 32, [])
    same = log.signer.sign_next(log.heads[-1], 8, log.tree.root(), [])
    assert open_checkpoint(same, [log.signer.key], VERIFIER).checkpoint.size == 8


def test_the_signer_trusts_only_its_own_previous_heads() -> None:
    """A previous head signed by another key, or altered, is refused before anything is signed."""
    log, stranger = Log(), Log(key_label="another key")
    log.append(events(4))
    stranger.append(events(4))
    with pytest.raises(SignatureInvalid):
        log.signer.sign_next(stranger.heads[-1], 4, log.tree.root(), [])
    altered = log.heads[-1].replace("\n4\n", "\n3\n", 1)
    with pytest.raises(SignatureInvalid):
        log.signer.sign_next(altered, 4, log.tree.root(), [])
    with pytest.raises(SignatureInvalid):
        log.signer.sign_next("not a note", 4, log.tree.root(), [])


def test_the_signer_refuses_to_continue_from_a_rolled_back_head() -> None:
    """Once it signed size 9, the signer will not sign after its own older head of size 4."""
    log = Log()
    log.append(events(4))
    log.append(events(5, 4))
    store = MemoryNodeStore()
    root = TreeAppender(store).append([*events(4), *events(7, 50)])
    with pytest.raises(InconsistentHead, match="rollback"):
        log.signer.sign_next(log.heads[0], 11, root, consistency_proof(store, 4, 11))
    with pytest.raises(InconsistentHead, match="has signed"):
        log.signer.sign_first(11, root)


def test_extension_lines_are_kept_but_prev_is_the_signers() -> None:
    """Extra extension lines are signed as given; a caller cannot write its own prev line."""
    signer = HeadSigner(ORIGIN, VaultEd25519("k"))
    head = signer.sign_first(0, EMPTY_ROOT, ["note a"])
    checkpoint = open_checkpoint(head, [signer.key], VERIFIER).checkpoint
    assert checkpoint.extensions == (f"prev 0 {base64.b64encode(EMPTY_ROOT).decode()}", "note a")
    with pytest.raises(NoteMalformed, match="prev"):
        HeadSigner(ORIGIN, VaultEd25519("k")).sign_first(0, EMPTY_ROOT, [f"prev 0 {ROOT}"])
    assert TreeHead(0, EMPTY_ROOT) == EMPTY_HEAD
