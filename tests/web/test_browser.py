"""The kiosk and the dashboard in a real browser (Debian's Chromium through Playwright),
against a real uvicorn server of the vault over a temporary SQLite store."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.web.browser import Browser, LiveServer, browser, free_port, shoot
from tests.web.conftest import PASSWORD, PIN, World, build_world
from vault.app import create_app

pytestmark = pytest.mark.browser
FORM = "rehabilitation"
__all__ = ["browser"]  # the fixture, imported so pytest finds it here


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, LiveServer]]:
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    # Litestar matches the whole Host header, port included.
    # Pages of five in the access review, so that a few assignments make two pages.
    settings = make_settings(
        f"sqlite:///{folder / 'vault.db'}",
        folder,
        allowed_hosts=[f"127.0.0.1:{port}"],
        access_review_page_size=5,
    )
    with build_world(settings) as world:
        app = create_app(settings, services=world.services)
        with LiveServer(app, port) as server:
            yield world, server


@pytest.fixture
def page(browser: Browser, live: tuple[World, LiveServer]) -> Iterator[Any]:
    context = browser.chromium.new_context(
        base_url=live[1].url, viewport={"width": 1024, "height": 900}
    )
    # Anything not served by the vault itself is a failure of "no CDN, works offline".
    outside: list[str] = []
    context.route(
        re.compile(r"^(?!http://127\.0\.0\.1:\d+/).*"),
        lambda route: (outside.append(route.request.url), route.abort()),
    )
    opened = context.new_page()
    opened.set_default_timeout(5000)
    try:
        yield opened
    finally:
        context.close()
    assert outside == [], f"the page tried to load {outside}"


def open_session(
    page: Any,
    subject: uuid.UUID,
    language: str = "id",
    user: str = "officer1",
    sentra: str = "",
    to: str = "**/kiosk/home",
) -> None:
    page.goto("/kiosk/login")
    page.get_by_label(re.compile("Nama pengguna|Username")).fill(user)
    page.get_by_label(re.compile("Kata sandi|Password")).fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/kiosk/start")
    page.locator("#subject_id").fill(str(subject))
    if sentra:
        page.locator("#sentra").select_option(sentra)
    page.locator("#language").select_option(language)
    page.locator("form[action='/kiosk/start'] button").click()
    page.wait_for_url(to)


def walk_purposes(page: Any, world: World, refuse: set[str], shots: str) -> None:
    """From the home page: open the form, accept or refuse each purpose by its code."""
    page.locator("a[href^='/kiosk/forms/']").first.click()
    page.locator("a[href$='/purposes/1']").click()
    for number, purpose in enumerate(world.services.consents.form(FORM).purposes, start=1):
        assert page.url.endswith(f"/purposes/{number}")
        if number == 1:
            shoot(page, f"{shots}-purpose-1")
        with page.expect_navigation():
            page.locator("button.refuse" if purpose.code in refuse else "button.accept").click()
    assert page.url.endswith("/summary")


def test_adult_signs_the_whole_form(page: Any, live: tuple[World, LiveServer]) -> None:
    """An adult reads every purpose in Bahasa Indonesia, accepts all, signs with the PIN
    and gets a receipt whose verification code is the hash of the signed receipt."""
    world, _ = live
    subject = world.subject()
    open_session(page, subject, sentra="sentra-handayani")
    assert page.locator("html").get_attribute("lang") == "id"
    shoot(page, "adult-1-home")
    walk_purposes(page, world, set(), "adult")
    shoot(page, "adult-2-summary")
    page.locator("#pin").fill(PIN)
    page.locator("form[action$='/sign'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/receipts/*")
    assert page.locator("h1").inner_text().endswith("Tanda terima persetujuan")
    shoot(page, "adult-3-receipt")
    code = page.locator(".code").inner_text().replace(" ", "")
    consent_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    from vault.web.kiosk_port import verification_code

    grants = world.services.consents.active_consents(subject, world.clock())
    assert {g.purpose for g in grants} == {
        p.code for p in world.services.consents.form("rehabilitation").purposes
    }
    from vault.consent.service import Actor

    jws = world.services.consents.receipt(Actor.subject(subject), consent_id)
    assert verification_code(jws).replace(" ", "") == code


def test_refusing_one_purpose_leaves_it_out_of_the_consent(
    page: Any, live: tuple[World, LiveServer]
) -> None:
    """Refusing the health purpose at its screen: the signed consent grants everything else."""
    world, _ = live
    subject = world.subject()
    open_session(page, subject, sentra="sentra-handayani")
    walk_purposes(page, world, {"health_treatment"}, "refusal")
    assert page.locator("td.status", has_text="Tidak setuju").count() == 1
    shoot(page, "refusal-1-summary")
    page.locator("#pin").fill(PIN)
    page.locator("form[action$='/sign'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/receipts/*")
    shoot(page, "refusal-2-receipt")
    purposes = {g.purpose for g in world.services.consents.active_consents(subject, world.clock())}
    assert purposes == {p.code for p in world.services.consents.form(FORM).purposes} - {
        "health_treatment"
    }


def test_withdrawal_needs_the_pin_and_takes_effect(
    page: Any, live: tuple[World, LiveServer]
) -> None:
    """The subject withdraws an active consent at the kiosk: a wrong PIN is refused, the
    right one ends it, and the consent service reports no active consent afterwards."""
    world, _ = live
    subject = world.subject()
    open_session(page, subject)
    walk_purposes(page, world, {"handover_kemensos"}, "withdraw")
    page.locator("#pin").fill(PIN)
    page.locator("form[action$='/sign'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/receipts/*")
    page.goto("/kiosk/consents")
    page.locator("#pin").fill(PIN)  # the list is shown only after the subject's PIN
    page.locator("form[action='/kiosk/consents'] button[type=submit]").click()
    shoot(page, "withdraw-1-consents")
    page.locator("a[href$='/withdraw']").first.click()
    page.locator("#pin").fill("000000")
    page.locator("form[action$='/withdraw'] button[type=submit]").click()
    assert page.locator(".error").is_visible()
    assert world.services.consents.active_consents(subject, world.clock())
    page.locator("#pin").fill(PIN)
    page.locator("form[action$='/withdraw'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/consents?withdrawn=true")
    shoot(page, "withdraw-2-done")
    assert world.services.consents.active_consents(subject, world.clock()) == []


def test_language_switch(page: Any, live: tuple[World, LiveServer]) -> None:
    """Switching to English and back changes the words and the lang attribute, keyboard only."""
    world, _ = live
    subject = world.subject()
    open_session(page, subject)
    assert page.locator("h1").inner_text() == "Selamat datang"
    page.locator("button[lang=en]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "Welcome"
    shoot(page, "language-1-english")
    page.goto("/kiosk/disclosures")
    assert page.locator("h1").inner_text() == "Who read my data"
    page.locator("button[lang=id]").click()
    page.wait_for_url("**/kiosk/disclosures")
    assert page.locator("h1").inner_text() == "Siapa yang membaca data saya"
    shoot(page, "language-2-disclosures")


def test_dashboard_shows_a_denied_access(page: Any, live: tuple[World, LiveServer]) -> None:
    """A counselor's refused API read appears on the compliance dashboard as a denied event,
    and a counselor cannot open the dashboard."""
    world, server = live
    subject = world.subject()
    with httpx.Client(base_url=server.url) as api:
        token = api.post(
            "/v1/auth/login", json={"username": "counselor1", "password": PASSWORD}
        ).json()["access_token"]
        refused = api.get(
            f"/v1/subjects/{subject}/records",
            params={"purpose": "counseling"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert refused.status_code in (403, 404)
    page.goto("/dashboard/login?lang=en")
    page.get_by_label("Username").fill("counselor1")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".error").is_visible()
    page.get_by_label("Username").fill("compliance1")
    page.get_by_label("Password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    assert page.locator("svg[role=img]").count() == 1
    page.locator("#f-subject").fill(str(subject))
    page.locator("#f-decision").select_option("deny")
    with page.expect_navigation():
        page.locator("form[action='/dashboard'] button[type=submit]").click()
    rows = page.locator("#ev-h ~ table tbody tr")
    assert rows.count() >= 1
    assert "record.list" in rows.first.inner_text()
    shoot(page, "dashboard-1-denied")


SCREENSHOTS = Path(__file__).resolve().parents[2] / "vault" / "web" / "static" / "screenshots"
SENTRA = "sentra-handayani"
CHOSEN_PIN = "275093"
GUARDIAN_PIN = "860431"


def keep(page: Any, name: str) -> None:
    """A screenshot for the documentation (docs/screenshots links to this folder)."""
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_kiosk_as_the_subject_lives_it(
    page: Any, live: tuple[World, LiveServer], language: str
) -> None:
    """First session: the subject chooses a PIN (an easy one is refused), reads the handover
    purpose naming the sentra, checks the summary and gets the receipt naming it too."""
    world, _ = live
    subject = world.subject(pin=None)
    sentra_name = world.services.consents.receiving_organizations()[SENTRA]
    page.goto("/kiosk/login")
    page.get_by_label(re.compile("Nama pengguna|Username")).fill("counselor1")
    page.get_by_label(re.compile("Kata sandi|Password")).fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/kiosk/start")
    page.locator("#subject_id").fill(str(subject))
    page.locator("#sentra").select_option(SENTRA)
    page.locator("#language").select_option(language)
    page.locator("form[action='/kiosk/start'] button").click()
    page.wait_for_url("**/kiosk/pin/new")
    assert page.locator("html").get_attribute("lang") == language
    page.locator("#pin").fill("123456")
    page.locator("#pin_again").fill("123456")
    with page.expect_navigation():
        page.locator("form[action='/kiosk/pin/new'] button[type=submit]").click()
    assert page.locator(".error").is_visible()
    page.locator("#pin").fill(CHOSEN_PIN)
    page.locator("#pin_again").fill(CHOSEN_PIN)
    keep(page, f"kiosk-{language}-1-choose-pin")
    with page.expect_navigation():
        page.locator("form[action='/kiosk/pin/new'] button[type=submit]").click()
    assert CHOSEN_PIN not in page.content()
    page.goto("/kiosk/home")
    page.locator("a[href^='/kiosk/forms/']").first.click()
    page.locator("a[href$='/purposes/1']").click()
    purposes = world.services.consents.form(FORM).purposes
    for number, purpose in enumerate(purposes, start=1):
        assert page.url.endswith(f"/purposes/{number}")
        if purpose.code == "handover_kemensos":
            assert sentra_name in page.locator("main").inner_text()
            keep(page, f"kiosk-{language}-2-purpose")
        with page.expect_navigation():
            page.locator("button.accept").click()
    assert page.url.endswith("/summary")
    assert sentra_name in page.locator("main").inner_text()
    page.locator("#pin").fill(CHOSEN_PIN)
    keep(page, f"kiosk-{language}-3-summary")
    page.locator("form[action$='/sign'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/receipts/*")
    assert sentra_name in page.locator("main").inner_text()
    keep(page, f"kiosk-{language}-4-receipt")
    grants = world.services.consents.active_consents(subject, world.clock())
    assert {g.purpose for g in grants} == {p.code for p in purposes}


@pytest.mark.parametrize("language", ["id", "en"])
def test_a_child_and_guardian_live_it(
    page: Any, live: tuple[World, LiveServer], language: str
) -> None:
    """A 15-year-old's later visit: the home page says when and in whose session the PIN
    was made; the first signature asks for a guardian, a second staff member checks the
    guardian's document, the guardian chooses a PIN, then child and guardian sign."""
    world, _ = live
    today = world.clock().date()
    subject = world.subject(born=today.replace(year=today.year - 15), pin=None)
    open_session(page, subject, language=language, user="counselor1", to="**/kiosk/pin/new")
    page.locator("#pin").fill(CHOSEN_PIN)
    page.locator("#pin_again").fill(CHOSEN_PIN)
    with page.expect_navigation():
        page.locator("form[action='/kiosk/pin/new'] button[type=submit]").click()
    with page.expect_navigation():
        page.locator("form[action='/kiosk/end'] button").click()
    open_session(page, subject, language=language)
    assert "counselor1" in page.locator("main").inner_text()
    assert page.locator("form[action='/kiosk/pin/disown']").is_visible()
    keep(page, f"kiosk-{language}-5-pin-origin")
    walk_purposes(page, world, {"handover_kemensos"}, f"minor-{language}")
    assert page.locator("#guardian_pin").count() == 0  # the age is not read before the PIN
    page.locator("#pin").fill(CHOSEN_PIN)
    page.locator("form[action$='/sign'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/guardian*")
    page.locator("#guardian_name").fill("Siti <b>Aminah</b>")
    page.locator("#guardian_relation").fill("ibu" if language == "id" else "mother")
    page.locator("#document_type").select_option("ktp")
    page.locator("#document_number").fill("3171015508800002")
    # The session was opened by officer1: a second staff member confirms the document.
    page.locator("#checker_username").fill("counselor1")
    page.locator("#checker_password").fill(PASSWORD)
    page.locator("#pin").fill(GUARDIAN_PIN)
    page.locator("#pin_again").fill(GUARDIAN_PIN)
    keep(page, f"kiosk-{language}-6-guardian")
    with page.expect_navigation():
        page.locator("form[action='/kiosk/guardian'] button[type=submit]").click()
    page.locator("main a.button").first.click()
    page.wait_for_url("**/summary")
    page.locator("#assent").check()
    page.locator("#pin").fill(CHOSEN_PIN)
    page.locator("#guardian_pin").fill(GUARDIAN_PIN)
    keep(page, f"kiosk-{language}-7-guardian-sign")
    page.locator("form[action$='/sign'] button[type=submit]").click()
    page.wait_for_url("**/kiosk/receipts/*")
    assert "Aminah" not in page.content()
    from vault.consent.tables import Consent

    consent_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    with world.services.db.read_session() as session:
        row = session.get(Consent, consent_id)
        assert row is not None
        assert (row.signed_by, row.assent) == ("guardian", True)
        assert row.guardian_id is not None


def test_the_workbench_in_both_languages(page: Any, live: tuple[World, LiveServer]) -> None:
    """The workbench opens in Bahasa Indonesia with an alert to review, switches to English,
    and the accounting of disclosures of a subject prints without the page's controls."""
    from vault.audit.events import AuditEvent, Outcome
    from vault.vocabulary import EventAction, Principal, Role

    world, _ = live
    subject = world.subject()
    officer = Principal(world.officers["rutan-jakpus"], Role.OFFICER, "rutan-jakpus")
    world.services.audit.append(
        AuditEvent.by(officer, EventAction.HONEYTOKEN_HIT, Outcome.INFO, subject_id=subject)
    )
    page.goto("/dashboard/login")
    page.get_by_label("Nama pengguna").fill("compliance1")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    assert page.locator("#alerts-h").inner_text() == "Peringatan"
    assert "Data umpan disentuh" in page.locator("#alerts-h ~ table").first.inner_text()
    shoot(page, "workbench-1-id")
    with page.expect_navigation():
        page.locator("button[lang=en]").click()
    assert page.locator("#alerts-h").inner_text() == "Alerts"
    shoot(page, "workbench-2-en")
    page.goto(f"/dashboard/subjects/{subject}/disclosures")
    assert page.locator("h1").inner_text() == "Accounting of disclosures"
    page.emulate_media(media="print")
    assert not page.locator("header.bar").is_visible()
    shoot(page, "workbench-3-report-print")


def test_the_access_review_and_the_charts_in_both_languages(
    page: Any, live: tuple[World, LiveServer]
) -> None:
    """The access review lists an assignment to confirm or end and the officer's own account
    without buttons; the charts draw reads per purpose with their table; both languages."""
    from vault.audit.events import AuditEvent, Outcome
    from vault.vocabulary import EventAction, Principal, Role

    world, _ = live
    officer = Principal(world.officers["rutan-jakpus"], Role.OFFICER, "rutan-jakpus")
    subject = world.subject(pin=None)
    counselor = world.services.identity.user_by_name("counselor1").id
    world.services.access.assign(officer, counselor, subject)
    reader = Principal(counselor, Role.COUNSELOR, "rutan-jakpus")
    for purpose, outcome in (("counseling", Outcome.ALLOW), ("research", Outcome.DENY)):
        world.services.audit.append(
            AuditEvent.by(
                reader, EventAction.RECORD_READ, outcome, subject_id=subject, purpose=purpose
            )
        )
    page.goto("/dashboard/login")
    page.get_by_label("Nama pengguna").fill("compliance1")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    page.goto("/dashboard/review")
    assert page.locator("h1").inner_text() == "Tinjauan hak akses"
    rows = page.locator("tbody tr")
    assert rows.filter(has_text="Penugasan tim perawatan").count() >= 1
    own = rows.filter(has_text="compliance1").first
    assert own.locator("button").count() == 0
    keep(page, "workbench-4-review-id")
    page.goto("/dashboard/charts")
    assert page.locator("#per-purpose-h").inner_text() == "Pembacaan per tujuan"
    assert page.locator("svg").count() == 4
    page.locator("#per-purpose-h ~ details summary").click()
    assert "counseling" in page.locator("#per-purpose-h ~ details table").inner_text()
    keep(page, "workbench-5-charts-id")
    with page.expect_navigation():
        page.locator("button[lang=en]").click()
    page.goto("/dashboard/charts")
    assert page.locator("#per-purpose-h").inner_text() == "Reads per purpose"
    keep(page, "workbench-6-charts-en")
    page.goto("/dashboard/review")
    assert page.locator("h1").inner_text() == "Access review"
    keep(page, "workbench-7-review-en")


def test_the_access_review_pages_in_both_languages(
    page: Any, live: tuple[World, LiveServer]
) -> None:
    """With more items than a page holds, Next and Previous walk the review's pages, in
    Bahasa Indonesia and in English, and each page holds at most the configured size."""
    from vault.vocabulary import Principal, Role

    world, _ = live
    officer = Principal(world.officers["rutan-jakpus"], Role.OFFICER, "rutan-jakpus")
    counselor = world.services.identity.user_by_name("counselor1").id
    for _ in range(6):
        world.services.access.assign(officer, counselor, world.subject(pin=None))
    page.goto("/dashboard/login")
    page.get_by_label("Nama pengguna").fill("compliance1")
    page.get_by_label("Kata sandi").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    page.goto("/dashboard/review")
    assert page.locator("tbody tr").count() == 5
    assert "Halaman 1 dari" in page.locator("nav.pager").first.inner_text()
    page.locator("nav.pager").first.get_by_role("link", name="Berikutnya →").click()
    page.wait_for_url("**/dashboard/review?page=2")
    assert "Halaman 2 dari" in page.locator("nav.pager").first.inner_text()
    keep(page, "workbench-8-review-page-2-id")
    page.locator("nav.pager").first.get_by_role("link", name="← Sebelumnya").click()
    page.wait_for_url("**/dashboard/review?page=1")
    with page.expect_navigation():
        page.locator("button[lang=en]").click()
    page.goto("/dashboard/review")
    page.locator("nav.pager").first.get_by_role("link", name="Next →").click()
    page.wait_for_url("**/dashboard/review?page=2")
    assert "Page 2 of" in page.locator("nav.pager").first.inner_text()
    assert page.locator("nav.pager").first.get_by_role("link", name="← Previous").count() == 1
    keep(page, "workbench-9-review-page-2-en")
