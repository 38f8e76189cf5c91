"""``vault handover``: keys, trust, import of a bundle file, notices carried as a file."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.handover.handover_support import SENTRA, Pair
from vault.cli import main


def _as_sentra(monkeypatch: pytest.MonkeyPatch, pair: Pair) -> None:
    settings = pair.sentra.settings
    monkeypatch.setenv("VAULT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("VAULT_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("VAULT_TESTING", "1")
    monkeypatch.setenv("VAULT_ARGON2_PROFILE", "cheapest")


def test_import_a_bundle_file_then_refuse_it_again_and_receive_a_withdrawal(
    pair: Pair,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`vault handover import FILE --as officer` takes the case in (exit 0), the same file
    again is refused as a replay (exit 1), and `vault handover receive` records the
    prison's withdrawal notice."""
    consent_id = pair.consent_to_handover()
    bundle = tmp_path / "bundle.json"
    bundle.write_text(pair.export(), encoding="utf-8")
    _as_sentra(monkeypatch, pair)
    assert main(["handover", "import", str(bundle), "--as", "s_officer"]) == 0
    assert consent_id in capsys.readouterr().out
    assert main(["handover", "import", str(bundle), "--as", "s_officer"]) == 1
    assert "replayed" in capsys.readouterr().err
    pair.world.post("officer", f"/v1/consents/{consent_id}/withdraw", {})
    notices = tmp_path / "notices.txt"
    notices.write_text("\n".join(pair.world.services.handover_notices.issue(SENTRA)) + "\n")
    assert main(["handover", "receive", str(notices)]) == 0
    assert consent_id in capsys.readouterr().out
    assert pair.sentra.handover.withdrawn(uuid.UUID(consent_id))


def test_keys_prints_what_a_partner_trusts(
    pair: Pair, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`vault handover keys` prints the signing JWKS and the X25519 key, the file a partner
    gives to `vault handover trust`."""
    import json

    _as_sentra(monkeypatch, pair)
    assert main(["handover", "keys"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["encryption"] == pair.sentra.handover.key.public_jwk()
    assert printed["jwks"] == pair.sentra.signer.jwks()
