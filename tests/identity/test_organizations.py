"""``vault.identity.organizations``: organisations are made on the host, once, well-formed."""

from __future__ import annotations

import pytest

from tests.support import RecordingAudit
from vault.errors import Conflict, InvalidInput
from vault.services import Services
from vault.vocabulary import EventAction


def test_organisation_is_created_audited_and_listed(
    services: Services, events: RecordingAudit
) -> None:
    """A new organisation is stored with its name trimmed and its creation audited."""
    made = services.identity.create_organization("sentra-z", "  Sentra Z ", "kemensos")
    assert made.name == "Sentra Z"
    event = events.events[-1]
    assert event.action == EventAction.ORGANIZATION_CREATE.value
    assert event.actor_id is None
    assert event.details == {"code": "sentra-z", "agency": "kemensos"}
    codes = [org.code for org in services.identity.organizations()]
    assert "sentra-z" in codes
    assert codes == sorted(codes)


def test_same_code_twice_is_a_conflict(services: Services) -> None:
    """A second organisation with a code in use is refused."""
    services.identity.create_organization("lapas-z", "Lapas Z", "imipas")
    with pytest.raises(Conflict, match="already exists"):
        services.identity.create_organization("lapas-z", "Another", "imipas")


@pytest.mark.parametrize(
    ("code", "name", "agency", "message"),
    [
        ("Lapas Z", "Lapas Z", "imipas", "lower-case"),
        ("z", "Lapas Z", "imipas", "lower-case"),
        ("lapas-z", "Lapas Z", "police", "agency must be one of"),
        ("lapas-z", "   ", "imipas", "needs a name"),
    ],
)
def test_malformed_organisation_is_refused(
    services: Services, code: str, name: str, agency: str, message: str
) -> None:
    """A bad code, an unknown agency or an empty name is refused before anything is stored."""
    with pytest.raises(InvalidInput, match=message):
        services.identity.create_organization(code, name, agency)
    assert code not in [org.code for org in services.identity.organizations()]
