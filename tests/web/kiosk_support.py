"""Helpers for the kiosk tests: walking every purpose screen and signing."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.web.conftest import PIN, csrf_of

FORM = "rehabilitation"


def sign_all(client: TestClient, refuse: frozenset[str] = frozenset(), **extra: str) -> str:  # type: ignore[type-arg]
    """Walk every purpose screen (accepting all but ``refuse``) and sign; the receipt page."""
    page = client.get(f"/kiosk/forms/{FORM}/purposes/1")
    form = client.app.state.services.consents.form(FORM)
    for purpose in form.purposes:
        choice = "refuse" if purpose.code in refuse else "accept"
        page = client.post(
            str(page.url.path), data={"csrf_token": csrf_of(page.text), "choice": choice}
        )
        assert page.status_code == 200, page.text
    assert page.url.path.endswith("/summary")
    receipt = client.post(
        f"/kiosk/forms/{FORM}/sign", data={"csrf_token": csrf_of(page.text), "pin": PIN, **extra}
    )
    return receipt.text
