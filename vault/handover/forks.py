"""The sender's signed tree heads a recipient has seen, and fork detection over them.

Each bundle's export proof is against a signed head of the sender's audit log
(``vault.handover.proof``). The recipient keeps every such head it accepted
(size and root, ``handover_sender_heads``), and the head its ``prev`` line
names. A later bundle whose head, or whose head's ``prev``, has the size of a
kept head but another root shows a second history of the sender's log (a
fork: the sender rewrote its log, or shows each partner its own version) and
is refused with ``forked``; nothing of it is stored.

Heads of other sizes are compared only through a consistency proof, which a
bundle does not carry: run a witness (``vault witness``) over the sender's log
for that.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from vault.db import Database
from vault.handover.bundle import BundleRefused
from vault.handover.models import HandoverSenderHead
from vault.transparency import Checkpoint, Note, TreeHead

__all__ = ["heads_of", "keep_heads", "refuse_forks"]


def heads_of(proof: object) -> list[TreeHead]:
    """The head an export proof is against and the head its ``prev`` line names.

    Call after ``check_export_proof`` (which verified the head's signature).
    """
    if not isinstance(proof, dict):
        return []
    checkpoint = Checkpoint.parse(Note.parse(str(proof["head"])).text)
    previous = checkpoint.previous
    return [checkpoint.head] + ([previous] if previous is not None and previous.size else [])


def refuse_forks(db: Database, sender: str, heads: Sequence[TreeHead]) -> None:
    """``BundleRefused("forked")`` when a kept head of ``sender`` has a size of ``heads``
    and another root."""
    if not heads:
        return
    sizes = {head.size: head.root for head in heads}
    with db.read_session() as session:
        kept = [
            (int(size), bytes(root))
            for size, root in session.exec(
                select(HandoverSenderHead.size, HandoverSenderHead.root).where(
                    HandoverSenderHead.sender == sender, col(HandoverSenderHead.size).in_(sizes)
                )
            ).all()
        ]
    for size, root in kept:
        if root != sizes[size]:
            raise BundleRefused(
                "forked",
                f"the sender's signed tree head of size {size} differs from the one it "
                "showed before: its audit log forked",
            )


def keep_heads(db: Database, sender: str, heads: Sequence[TreeHead]) -> None:
    """Keep ``heads`` of ``sender`` (a head already kept stays as it is)."""
    for head in heads:
        try:
            with db.session() as session:
                exists = session.exec(
                    select(HandoverSenderHead.id).where(
                        HandoverSenderHead.sender == sender, HandoverSenderHead.size == head.size
                    )
                ).first()
                if exists is None:
                    session.add(HandoverSenderHead(sender=sender, size=head.size, root=head.root))
        except IntegrityError:
            refuse_forks(db, sender, [head])  # another import kept this size meanwhile
