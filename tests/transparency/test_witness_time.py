"""The witness compares signed head times: a re-dated or future head gets no cosignature."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.transparency.ed25519 import VaultEd25519
from tests.transparency.logs import ORIGIN, Log, events
from vault.cli import main
from vault.transparency import (
    HeadTimeRefused,
    TreeHead,
    Witness,
    render_add_checkpoint,
    time_line,
)

NOW = 1_790_000_000
NAME = "partner.example/witness"


def timed(log: Log, leaves: list[bytes], signed: int) -> str:
    """Append ``leaves`` and sign the new head with the time line ``signed``."""
    old_size = log.tree.size
    root = log.tree.append(leaves)
    log.leaves += leaves
    extensions = [time_line(signed)]
    if not log.heads:
        head = log.signer.sign_first(log.tree.size, root, extensions)
    else:
        proof = log.consistency(old_size, log.tree.size)
        head = log.signer.sign_next(log.heads[-1], log.tree.size, root, proof, extensions)
    log.heads.append(head)
    return head


def make(log: Log, max_skew: int = 300) -> Witness:
    return Witness(
        NAME, VaultEd25519("partner witness"), {ORIGIN: [log.signer.key]}, max_skew=max_skew
    )


def test_a_redated_head_is_refused() -> None:
    """A consistent head signed before the last cosigned one is refused; the state is kept."""
    log = Log()
    witness = make(log)
    witness.add_checkpoint(timed(log, events(4), NOW - 60), 0, [], now=NOW)
    redated = timed(log, events(3, 4), NOW - 3600)
    with pytest.raises(HeadTimeRefused) as refused:
        witness.add_checkpoint(redated, 4, log.consistency(4, 7), now=NOW)
    assert refused.value.status == 422
    latest = witness.latest(ORIGIN)
    assert latest is not None
    assert latest.size == 4
    assert witness.times() == {ORIGIN: NOW - 60}


def test_a_head_from_the_future_is_refused() -> None:
    """A head signed more than the skew after the witness's clock is refused, within it taken."""
    log = Log()
    witness = make(log, max_skew=30)
    ahead = timed(log, events(2), NOW + 31)
    with pytest.raises(HeadTimeRefused):
        witness.add_checkpoint(ahead, 0, [], now=NOW)
    assert witness.latest(ORIGIN) is None
    witness.add_checkpoint(ahead, 0, [], now=NOW + 1)
    assert witness.times() == {ORIGIN: NOW + 31}


def test_later_heads_and_equal_times_are_cosigned() -> None:
    """Heads signed in order (or in the same second) are cosigned one after the other."""
    log = Log()
    witness = make(log)
    witness.add_checkpoint(timed(log, events(2), NOW - 10), 0, [], now=NOW)
    witness.add_checkpoint(timed(log, events(2, 2), NOW - 10), 2, log.consistency(2, 4), now=NOW)
    witness.add_checkpoint(timed(log, events(2, 4), NOW), 4, log.consistency(4, 6), now=NOW)
    assert witness.times() == {ORIGIN: NOW}
    assert witness.latest(ORIGIN) == TreeHead(6, log.tree.root())


def test_a_head_without_a_time_after_a_timed_one_is_refused() -> None:
    """Once a timed head was cosigned, a head that drops its time line cannot be compared."""
    log = Log()
    witness = make(log)
    witness.add_checkpoint(timed(log, events(2), NOW), 0, [], now=NOW)
    untimed = log.append(events(2, 2))
    with pytest.raises(HeadTimeRefused):
        witness.add_checkpoint(untimed, 2, log.consistency(2, 4), now=NOW)


def test_the_last_time_survives_a_restart() -> None:
    """A witness rebuilt from its persisted state still refuses the re-dated head."""
    log = Log()
    first = make(log)
    first.add_checkpoint(timed(log, events(2), NOW), 0, [], now=NOW)
    again = Witness(
        NAME,
        VaultEd25519("partner witness"),
        {ORIGIN: [log.signer.key]},
        first.state(),
        times=first.times(),
    )
    with pytest.raises(HeadTimeRefused):
        again.add_checkpoint(timed(log, events(1, 2), NOW - 1), 2, log.consistency(2, 3), now=NOW)


def test_a_witness_that_requires_times_refuses_an_untimed_first_head() -> None:
    """On first contact an untimed head could be of any age; ``require_time`` refuses it."""
    log = Log()
    strict = Witness(
        NAME, VaultEd25519("partner witness"), {ORIGIN: [log.signer.key]}, require_time=True
    )
    untimed = log.append(events(2))
    with pytest.raises(HeadTimeRefused):
        strict.add_checkpoint(untimed, 0, [], now=NOW)
    assert strict.latest(ORIGIN) is None
    lenient = make(log)
    lenient.add_checkpoint(untimed, 0, [], now=NOW)
    assert lenient.latest(ORIGIN) == TreeHead(2, log.tree.root())


def test_the_witness_command_refuses_an_untimed_head_unless_told_otherwise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vault witness cosign` requires a signed time from the first head on."""
    log = Log()
    state = tmp_path / "witness.json"
    assert main(["witness", "init", str(state), "--name", NAME, "--log", str(log.signer.key)]) == 0
    request = tmp_path / "request.txt"
    request.write_text(render_add_checkpoint(0, [], log.append(events(2))), encoding="utf-8")
    capsys.readouterr()
    assert main(["witness", "cosign", str(state), str(request)]) == 1
    assert "no signing time" in capsys.readouterr().err
    assert main(["witness", "cosign", str(state), str(request), "--allow-untimed"]) == 0
    assert capsys.readouterr().out.startswith("\u2014 " + NAME)
