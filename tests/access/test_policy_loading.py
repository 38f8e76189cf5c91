"""Policies are validated at start-up; a broken or over-generous policy cannot do harm."""

from __future__ import annotations

import shutil
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vault.access.engine import PolicyEngine
from vault.access.policies import load_policies, split_statements
from vault.errors import ConfigurationError
from vault.vocabulary import (
    Action,
    BreakGlassGrant,
    Category,
    ConsentGrant,
    DecisionContext,
    Principal,
    Resource,
    Role,
)

POLICIES = Path(__file__).resolve().parents[2] / "policies"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(POLICIES, target)
    return target


def test_shipped_policies_are_valid_and_all_named() -> None:
    """The policies in the repository load, and every one has a unique @id."""
    loaded = load_policies(POLICIES)
    ids = [source.policy_id for source in loaded.sources.values()]
    assert len(ids) == len(set(ids)) > 20


def test_syntax_error_names_file_and_line(policy_dir: Path) -> None:
    """A policy that does not parse stops loading with its file and line."""
    original = (policy_dir / "records.cedar").read_text()
    lines = original.count("\n")
    (policy_dir / "records.cedar").write_text(
        original + '\n@id("broken")\npermit (principal, action, resource) when { 1 + };\n'
    )
    with pytest.raises(ConfigurationError, match=rf"records\.cedar:{lines + 2}"):
        load_policies(policy_dir)


def test_schema_violation_names_file_line_and_policy(policy_dir: Path) -> None:
    """A policy that parses but breaks the schema is named by file, line and @id."""
    (policy_dir / "zz-extra.cedar").write_text(
        "// an attribute the schema does not have\n"
        '@id("extra.typo")\n'
        'permit (principal, action == Vault::Action::"record.read", resource)\n'
        "when { context.asigned };\n"
    )
    with pytest.raises(ConfigurationError, match=r"zz-extra\.cedar:2 \(policy 'extra\.typo'\)"):
        load_policies(policy_dir)


def test_policy_without_id_is_refused(policy_dir: Path) -> None:
    """Every policy must carry an @id, or decisions could not name it."""
    (policy_dir / "zz.cedar").write_text(
        'permit (principal, action == Vault::Action::"audit.read", resource);\n'
    )
    with pytest.raises(ConfigurationError, match=r"zz\.cedar:1: every policy needs an @id"):
        load_policies(policy_dir)


def test_duplicate_id_is_refused(policy_dir: Path) -> None:
    """Two policies with one @id are refused."""
    (policy_dir / "zz.cedar").write_text(
        '@id("ops.witness-consent")\n'
        'permit (principal, action == Vault::Action::"audit.read", resource);\n'
    )
    with pytest.raises(ConfigurationError, match="already used"):
        load_policies(policy_dir)


def test_release_without_basis_is_refused(policy_dir: Path) -> None:
    """A permit that could release a category must say on what legal basis."""
    (policy_dir / "zz.cedar").write_text(
        '@id("oops.everything")\npermit (principal, action, resource);\n'
    )
    with pytest.raises(ConfigurationError, match=r"zz\.cedar:1 .*@basis"):
        load_policies(policy_dir)


def test_broken_schema_stops_loading(policy_dir: Path) -> None:
    """An invalid schema stops loading and names the schema file."""
    (policy_dir / "vault.cedarschema").write_text("namespace Vault { entity ; }")
    with pytest.raises(ConfigurationError, match=r"vault\.cedarschema"):
        load_policies(policy_dir)


def test_service_refuses_to_start_with_an_invalid_policy(policy_dir: Path, tmp_path: Path) -> None:
    """build_services fails with the policy's location when a policy is invalid."""
    from tests.conftest import make_settings
    from vault.services import build_services

    (policy_dir / "zz.cedar").write_text('@id("x")\nforbid (principal, action, resource) when {;\n')
    settings = make_settings(f"sqlite:///{tmp_path / 'v.db'}", tmp_path, policies_dir=policy_dir)
    with pytest.raises(ConfigurationError, match=r"zz\.cedar:1"):
        build_services(settings, migrate=True)


def test_separation_of_duties_survives_a_permissive_policy(policy_dir: Path) -> None:
    """Even with a policy releasing everything to everyone, admin and compliance get no content."""
    for name in ("records.cedar", "roles.cedar", "release.cedar"):
        (policy_dir / name).unlink()
    (policy_dir / "evil.cedar").write_text(
        '@id("evil.all")\n@basis("consent")\npermit (principal, action, resource);\n'
    )
    engine = PolicyEngine.from_directory(policy_dir)
    subject = uuid.uuid4()
    everything = frozenset(Category)
    consent = ConsentGrant(
        uuid.uuid4(), subject, "counseling", everything, frozenset({"rutan-jakpus"}), None
    )
    for role in (Role.ADMIN, Role.COMPLIANCE_OFFICER):
        principal = Principal(uuid.uuid4(), role, "rutan-jakpus")
        grant = BreakGlassGrant(uuid.uuid4(), principal.id, subject, NOW + timedelta(hours=1))
        for purpose, bg in (("counseling", None), ("emergency", grant)):
            decision = engine.decide(
                principal,
                Action.READ_RECORD,
                Resource("record", subject, "rutan-jakpus", "x", everything),
                DecisionContext(purpose, True, (consent,), bg, NOW),
            )
            assert decision.categories == frozenset(), (role, purpose)
            assert not decision.allowed
    # And a counselor under that policy still needs a real consent for what is released.
    counselor = Principal(uuid.uuid4(), Role.COUNSELOR, "rutan-jakpus")
    decision = engine.decide(
        counselor,
        Action.READ_RECORD,
        Resource("record", subject, "rutan-jakpus", "x", everything),
        DecisionContext("statistics", True, (consent,), None, NOW),
    )
    assert decision.categories == frozenset()


def test_statement_splitter_keeps_strings_and_comments() -> None:
    """Semicolons inside strings or comments do not split a policy; lines are counted."""
    text = (
        '// a; comment\n@id("a;b")\npermit (principal, action, resource)\nwhen { "x;" == "x;" };\n'
    )
    statements = split_statements(text)
    assert [line for line, _ in statements] == [2]
