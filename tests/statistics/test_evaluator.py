"""A program evaluator reads the k-anonymous statistics of their organisation, and nothing
else: no audit events, no subjects, no records."""

from __future__ import annotations

from tests.statistics.statistics_support import consent, dashboard_as, outcome, subject
from tests.world import World


def test_an_evaluator_reads_the_statistics_and_nothing_else(world: World) -> None:
    """The evaluator gets the table and its CSV, but the audit log, the subject list, a
    subject and a record answer 403 or 404 with nothing in them."""
    for n in range(5):
        subject_id = subject(world, n)
        consent(world, subject_id, ["counseling", "statistics"])
        outcome(world, subject_id)
    world.join("evaluator", "evaluator", "rutan-jakpus")
    table = world.client.get("/v1/statistics/outcomes", headers=world.auth("evaluator"))
    assert table.status_code == 200, table.text
    total = next(c for c in table.json()["cells"] if c["program"] == c["period"] == "*")
    assert total["subjects"] == 5
    csv = world.client.get("/v1/statistics/outcomes.csv", headers=world.auth("evaluator"))
    assert csv.status_code == 200
    record_id = world.create_record(
        "counselor", "psychological_assessment", {"summary": "CANARY-EVAL-7f3a"}
    )
    for path in (
        "/v1/audit/events",
        "/v1/subjects",
        f"/v1/subjects/{world.subject_id}",
        f"/v1/subjects/{world.subject_id}/records/{record_id}?purpose=counseling",
    ):
        response = world.client.get(path, headers=world.auth("evaluator"))
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "CANARY" not in response.text
        assert world.subject_id not in response.text


def test_an_evaluator_of_another_organisation_sees_only_its_own(world: World) -> None:
    """An evaluator of another organisation is given that organisation's table, in which
    none of the prison's subjects is counted."""
    for n in range(5):
        subject_id = subject(world, n)
        consent(world, subject_id, ["counseling", "statistics"])
        outcome(world, subject_id)
    world.join("elsewhere", "evaluator", "lapas-cipinang")
    table = world.client.get("/v1/statistics/outcomes", headers=world.auth("elsewhere"))
    assert table.status_code == 200
    assert table.json()["organization"] == "lapas-cipinang"
    assert all(cell["suppressed"] for cell in table.json()["cells"])


def test_an_evaluator_lands_on_the_statistics_page_of_the_dashboard(world: World) -> None:
    """Logged in at the dashboard, the evaluator is sent from the audit view to the
    statistics page; the audit export is refused."""
    world.join("evaluator", "evaluator", "rutan-jakpus")
    with dashboard_as(world, "evaluator") as browser:
        page = browser.get("/dashboard")
        assert page.status_code == 200
        assert str(page.url).endswith("/dashboard/statistics")
        assert "<svg" in page.text
        export = browser.get("/dashboard/export?format=csv")
        assert export.status_code == 403
