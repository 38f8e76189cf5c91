"""Record contents and audit look-ups the records tests share (a helper, not a test module)."""

from __future__ import annotations

from typing import Any

from tests.world import World

ASSESSMENT = {
    "instrument": "SRQ-20",
    "summary": "CANARY-SUMMARY-7f3a: low mood since transfer, sleeps poorly",
    "risk_level": "moderate",
    "recommendations": "weekly counseling, family visit plan",
}
FAMILY = {
    "family_members": "CANARY-FAMILY-91bd: mother, two younger brothers",
    "contact_person": "Ibu Sari, 0812-0000-0000",
}


def audit_events(world: World, **filters: Any) -> list[dict[str, Any]]:
    """Audit events matching ``filters``, as the organisation's compliance officer sees them."""
    response = world.client.get(
        "/v1/audit/events", params={**filters, "limit": 500}, headers=world.auth("compliance")
    )
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()["events"]
    return events
