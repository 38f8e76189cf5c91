"""The test suite's own habits: one sentence per test, no test module leaning on another."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _test_modules() -> Iterator[tuple[Path, ast.Module]]:
    for path in sorted(TESTS.rglob("test_*.py")):
        yield path, ast.parse(path.read_text(), str(path))


def test_every_test_says_what_it_proves() -> None:
    """Each test function has a docstring (one sentence saying what it proves)."""
    missing = [
        f"{path.relative_to(TESTS)}:{node.lineno} {node.name}"
        for path, tree in _test_modules()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and not ast.get_docstring(node)
    ]
    assert missing == []


def test_no_test_module_imports_another() -> None:
    """Shared helpers live in support modules, never in another test module."""
    offenders = []
    for path, tree in _test_modules():
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            offenders += [
                f"{path.relative_to(TESTS)} imports {name}"
                for name in names
                if name.split(".")[-1].startswith("test_")
            ]
    assert offenders == []


def test_test_modules_outside_packages_have_names_of_their_own() -> None:
    """pytest imports a test file of a folder without ``__init__.py`` by its bare name, so
    two such files with one name break collection of the whole suite."""
    bare: dict[str, list[str]] = {}
    for path, _ in _test_modules():
        if not (path.parent / "__init__.py").exists():
            bare.setdefault(path.name, []).append(str(path.relative_to(TESTS)))
    clashes = {name: places for name, places in bare.items() if len(places) > 1}
    assert bare
    assert clashes == {}


# --- tests mirror modules -----------------------------------------------------------

VAULT = TESTS.parent / "vault"

# Modules with logic whose unit tests stand under another name: they predate the
# rule, and other work edits them, so they keep their name. Each maps to its file.
TESTED_UNDER_ANOTHER_NAME = {
    "access/break_glass.py": "access/test_assignments_break_glass.py",
    "access/engine.py": "access/test_decide_matrix.py",
    "access/integrity.py": "records/test_access_integrity.py",
    "access/memo.py": "access/test_decision_memo.py",
    "access/policies.py": "access/test_policy_loading.py",
    "access/service.py": "access/test_assignments_break_glass.py",
    "audit/alert_store.py": "web/test_dashboard_workbench.py",
    "audit/attesting.py": "consent/test_attestation.py",
    "audit/checkpoints.py": "audit/test_audit_tamper.py",
    "audit/cosign.py": "audit/test_audit_witness.py",
    "audit/group_commit.py": "audit/test_audit_async.py",
    "audit/halts.py": "audit/test_audit_heads.py",
    "audit/tree.py": "audit/test_audit_heads.py",
    "audit/verify.py": "audit/test_audit_tamper.py",
    "consent/core.py": "consent/test_gates.py",
    "consent/grants.py": "consent/test_active.py",
    "consent/integrity.py": "records/test_consent_integrity.py",
    "consent/reading.py": "consent/test_lifecycle.py",
    "consent/service.py": "consent/test_active.py",
    "crypto/fields.py": "crypto/test_field_format.py",
    "crypto/hpke.py": "handover/test_vector.py",
    "crypto/keys.py": "crypto/test_key_handles.py",
    "crypto/providers/keyring_file.py": "crypto/test_file_provider.py",
    "crypto/providers/pkcs11_checks.py": "crypto/test_pkcs11_provider.py",
    "crypto/providers/pkcs11_signing.py": "crypto/test_pkcs11_provider.py",
    "crypto/signing_keys.py": "crypto/test_signing_rotation.py",
    "handover/checks.py": "handover/test_bundles.py",
    "handover/received.py": "handover/test_withdrawal.py",
    "handover/service.py": "handover/test_bundles.py",
    "honeytokens/cli.py": "web/test_dashboard_honeytokens.py",
    "honeytokens/watch.py": "web/test_dashboard_honeytokens.py",
    "http/gate.py": "core/test_decision_gate.py",
    "http/openapi.py": "core/test_openapi.py",
    "identity/logins.py": "identity/test_login.py",
    "identity/mfa.py": "identity/test_limits_and_mfa.py",
    "keys/cli_derived.py": "keys/test_keys_cli.py",
    "keys/pins.py": "keys/test_key_binding.py",
    "keys/rotation.py": "keys/test_kek_rotation.py",
    "keys/service.py": "keys/test_subject_keys.py",
    "keys/versions.py": "keys/test_derived_rotation.py",
    "keys/wiring.py": "keys/test_key_startup.py",
    "records/ratelimit.py": "records/test_read_limit.py",
    "records/reading.py": "records/test_read_fail_closed.py",
    "records/own_decryptions.py": "records/test_service.py",
    "records/rows.py": "records/test_cursor_reads.py",
    "pg_reads.py": "records/test_cursor_reads_ahead.py",
    "statistics/service.py": "statistics/test_outcomes.py",
    "statistics/tables.py": "statistics/test_suppression.py",
    "subjects/erasure.py": "keys/test_erasure_leaves_nothing.py",
    "tlog/cli.py": "audit/test_audit_witness.py",
    "tlog/ratelimit.py": "audit/test_witness_rate_limit.py",
    "web/dashboard_names.py": "web/test_dashboard_i18n.py",
    "web/i18n.py": "web/test_dashboard_i18n.py",
    "web/kiosk_mine.py": "web/test_kiosk.py",
    "web/kiosk_pin.py": "web/test_kiosk.py",
    "web/kiosk_port.py": "web/test_kiosk.py",
    "web/kiosk_signing.py": "web/test_kiosk.py",
    "web/sessions.py": "web/test_session_binding.py",
    "web/chart_bars.py": "web/test_workbench_charts.py",
    "web/dashboard_charts.py": "web/test_workbench_charts.py",
    "web/dashboard_pdf.py": "web/test_workbench_pdf.py",
    "web/dashboard_review.py": "web/test_workbench_review.py",
    "workbench/charts.py": "web/test_workbench_charts.py",
    "workbench/cli.py": "web/test_workbench_day_counts.py",
    "workbench/day_counts.py": "web/test_workbench_day_counts.py",
    "workbench/disclosure_pdf.py": "web/test_workbench_pdf.py",
    "workbench/review.py": "web/test_workbench_review.py",
    "handover/importing.py": "handover/test_atomic_import.py",
    "handover/outbox.py": "handover/test_polling.py",
    "handover/proof.py": "handover/test_export_proof.py",
    "web/dashboard_statistics.py": "statistics/test_dashboard_chart.py",
    "web/statistics_chart.py": "statistics/test_dashboard_chart.py",
    "consent/guardians.py": "insiders/test_guardian.py",
    "consent/pin_reports.py": "insiders/test_first_pin.py",
    "web/kiosk_guardian.py": "insiders/test_guardian.py",
    "access/grant_ledger.py": "insiders/test_clinician.py",
    "identity/activation.py": "insiders/test_administrator.py",
    "identity/epochs.py": "insiders/test_database_writer.py",
}

# Modules tested only through the running app or command line, on purpose.
THROUGH_THE_APP = {
    "access/http.py": "assignment and break-glass routes: tests/records/test_story.py drives them",
    "app.py": "the app's assembly: every HTTP test builds and drives it",
    "bootstrap.py": "first-run setup: tests/core/test_skeleton.py runs `vault init`",
    "cli_commands.py": "the command table: every CLI test goes through it",
    "consent/cli.py": "`vault consent verify` and the form lock: tests/consent/test_http.py",
    "http/auth.py": "reads the caller off a request: every authenticated HTTP test",
    "http/authentication.py": "the bearer/session guard: tests/identity/test_login.py",
    "http/middleware.py": "request ids and headers: asserted by the HTTP tests of each area",
    "http/problems.py": "the problem+json answers: asserted by every 4xx test",
    "identity/http.py": "account and login routes: tests/identity/test_login.py",
    "records/http.py": "record routes, one call each: tests/records/test_story.py",
    "registry.py": "hands the CLIs their services: every CLI test goes through it",
    "requestctx.py": "the request id in audit events: tests/audit/test_audit_log.py",
    "services.py": "the composition root: every service fixture is built by it",
    "subjects/http.py": "subject routes, one call each: tests/records/test_story.py",
    "tlog/http.py": "proof routes: tests/audit/test_audit_proof_http.py",
    "web/common.py": "page plumbing shared by the kiosk and dashboard page tests",
    "web/dashboard_access.py": "dashboard gates: tests/web/test_pages.py drives every page",
    "web/dashboard_data.py": "dashboard queries: tests/web/test_pages.py drives every page",
    "web/routes.py": "the page table: tests/web/test_pages.py",
    "workbench/http.py": "alert routes: tests/web/test_dashboard_workbench.py",
}

# Modules with logic and no test file of their own yet: none today. A module added
# without its tests goes here, with what covers it meanwhile, until they are written.
NOT_YET: set[str] = set()


def _has_logic(tree: ast.Module) -> bool:
    """A function or method that branches or loops: declarations alone are not logic."""
    branching = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.IfExp, ast.Match)
    branching += (ast.comprehension, ast.BoolOp)
    return any(
        isinstance(inner, branching)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(node)
    )


def _own_tests(module: Path) -> list[Path]:
    """``tests/<package>/test_<module>*.py`` (or ``test_<package>_<module>*``); a module at
    the top of ``vault/`` may have its file in any test package."""
    parts = module.relative_to(VAULT).with_suffix("").parts
    name = parts[-1]
    if len(parts) == 1:
        return sorted(TESTS.glob(f"*/test_{name}*.py"))
    folder = TESTS / parts[0]
    return sorted(folder.glob(f"test_{name}*.py")) + sorted(
        folder.glob(f"test_{parts[0]}_{name}*.py")
    )


def _modules_with_logic() -> dict[str, Path]:
    found = {}
    for path in sorted(VAULT.rglob("*.py")):
        relative = path.relative_to(VAULT)
        if relative.parts[0] == "migrations" or path.name == "__init__.py":
            continue
        if _has_logic(ast.parse(path.read_text(), str(path))):
            found[relative.as_posix()] = path
    return found


def test_every_module_with_logic_has_its_own_test_file() -> None:
    """A module that branches or loops has ``tests/<package>/test_<module>*.py``, or is
    listed above with where it is tested, why it is tested through the app, or "not yet"."""
    listed = set(TESTED_UNDER_ANOTHER_NAME) | set(THROUGH_THE_APP) | NOT_YET
    missing = [name for name, path in _modules_with_logic().items() if not _own_tests(path)]
    assert sorted(set(missing) - listed) == []


def test_exemption_lists_hold_no_stale_entry() -> None:
    """An exempted module still exists, still lacks its own file, and its named test exists."""
    modules = _modules_with_logic()
    listed = [*TESTED_UNDER_ANOTHER_NAME, *THROUGH_THE_APP, *NOT_YET]
    assert len(listed) == len(set(listed)), "a module is listed twice"
    stale = [name for name in listed if name not in modules or _own_tests(modules[name])]
    assert stale == []
    absent = [test for test in TESTED_UNDER_ANOTHER_NAME.values() if not (TESTS / test).exists()]
    assert absent == []
