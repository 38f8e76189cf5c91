"""The recipient keeps the sender's signed tree heads and refuses a bundle whose head forks."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from tests.handover.handover_support import PRISON, Pair
from vault.handover.bundle import BundleRefused
from vault.handover.forks import heads_of, refuse_forks
from vault.handover.models import HandoverSenderHead
from vault.transparency import TreeHead


def _heads(pair: Pair, bundle: str) -> list[TreeHead]:
    """The head the bundle's export proof is against, and its prev (read as the sentra would)."""
    from vault.handover.bundle import open_bundle

    opened = open_bundle(
        bundle,
        sender_keys=pair.world.services.signer.verification_keys(),
        own_organization="sentra-handayani",
        own_key=pair.sentra.handover.key,
        now=pair.sentra.clock(),
    )
    return heads_of(opened.content["export_proof"])


def _kept(pair: Pair) -> dict[int, bytes]:
    with pair.sentra.db.read_session() as session:
        rows = session.exec(
            select(HandoverSenderHead.size, HandoverSenderHead.root).where(
                HandoverSenderHead.sender == PRISON
            )
        ).all()
        return {int(size): bytes(root) for size, root in rows}


def _keep(pair: Pair, size: int, root: bytes) -> None:
    with pair.sentra.db.session() as session:
        session.add(HandoverSenderHead(sender=PRISON, size=size, root=root))


def test_imports_keep_the_senders_heads_and_consistent_ones_pass(pair: Pair) -> None:
    """An imported bundle's heads are kept with their roots; a later head of the same
    history passes the check against them."""
    pair.consent_to_handover()
    first = pair.export()
    pair.sentra.handover.import_bundle(pair.sentra_officer, first)
    kept = _kept(pair)
    heads = _heads(pair, first)
    assert heads
    for head in heads:
        assert kept[head.size] == head.root
    later = _heads(pair, pair.export())
    assert later[0].size > heads[0].size
    refuse_forks(pair.sentra.db, PRISON, later)


def test_a_head_that_forks_from_a_kept_one_is_refused(pair: Pair) -> None:
    """A kept head of the bundle head's size with another root: refused as forked, nothing
    stored, and the kept head is left as it was."""
    pair.consent_to_handover()
    bundle = pair.export()
    head = _heads(pair, bundle)[0]
    other = bytes(b ^ 0xFF for b in head.root)
    _keep(pair, head.size, other)
    before = pair.stored_counts()
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    assert refused.value.reason == "forked"
    assert pair.stored_counts() == before
    assert _kept(pair) == {head.size: other}


def test_a_head_whose_prev_forks_from_a_kept_one_is_refused(pair: Pair) -> None:
    """The head the bundle's head names as its prev differs from the kept one: refused."""
    pair.consent_to_handover()
    pair.export()  # the prison signs a head first, so the next one names it as prev
    bundle = pair.export()
    heads = _heads(pair, bundle)
    assert len(heads) == 2
    _keep(pair, heads[1].size, bytes(b ^ 0x01 for b in heads[1].root))
    with pytest.raises(BundleRefused) as refused:
        pair.sentra.handover.import_bundle(pair.sentra_officer, bundle)
    assert refused.value.reason == "forked"


def test_bundles_without_a_proof_keep_nothing() -> None:
    """A sender without log keys: no proof, no head to keep."""
    assert heads_of(None) == []
    assert heads_of(json.loads("null")) == []
