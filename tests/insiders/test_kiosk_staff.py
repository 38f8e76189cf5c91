"""The staff member who opens a kiosk session (THREATS.md): stands beside the subject, and
cannot sign, export or read the subject's data without the subject's PIN; every kiosk
action names that staff member in the audit log."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.support import create_user, ensure_organization, login
from tests.web.conftest import PASSWORD, PIN, World, build_world, csrf_of, open_kiosk
from tests.world import SUBJECT_PIN
from tests.world import World as ApiWorld
from tests.world import build_world as build_api_world
from vault.app import create_app
from vault.audit.events import AuditEvent, Outcome
from vault.audit.queries import AuditFilters, AuditQueries
from vault.config import Settings
from vault.consent.service import SignRequest
from vault.errors import RateLimited
from vault.subjects.models import Subject
from vault.vocabulary import EventAction, Principal, Role
from vault.web.common import KIOSK_COOKIE

ORG = "rutan-jakpus"
Client = TestClient[Any]


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    """The web tests' world: two organisations, officers, a counselor, subjects with PINs."""
    with build_world(settings) as built:
        yield built


@pytest.fixture
def client(world: World) -> Iterator[Client]:
    """A browser-like client on the loopback address (the kiosk's cookies are sent back)."""
    with TestClient(create_app(world.services.settings, world.services), "http://127.0.0.1") as c:
        yield c


def officer_of(world: World) -> Principal:
    return Principal(world.officers[ORG], Role.OFFICER, ORG)


def signed_subject(world: World) -> tuple[uuid.UUID, uuid.UUID]:
    """A subject with an active consent to counseling, and a counselor's read in the log."""
    subject = world.subject()
    signed = world.services.consents.sign(
        officer_of(world),
        subject,
        SignRequest(
            form_id="rehabilitation",
            form_version=1,
            language="id",
            granted_purposes=frozenset({"counseling"}),
            pin=PIN,
        ),
    )
    world.services.audit.append(
        AuditEvent(
            action=EventAction.RECORD_READ.value,
            outcome=Outcome.ALLOW,
            actor_id=uuid.uuid4(),
            actor_role="health_officer",
            actor_org="puskesmas-kemayoran",
            subject_id=subject,
            categories=("health_sensitive",),
            purpose="health_treatment",
        )
    )
    return subject, signed.id


def events(world: World, subject: uuid.UUID, action: EventAction) -> list[dict[str, Any]]:
    queries = AuditQueries(world.services.db)
    return list(queries.iter_events(AuditFilters(subject_id=subject, action=action.value)))


def test_the_staff_member_cannot_see_who_read_the_data_without_the_pin(
    world: World, client: Client
) -> None:
    """Opening the subject's disclosures asks for the PIN now; a wrong one shows nothing."""
    subject, _ = signed_subject(world)
    open_kiosk(client, subject)
    page = client.get("/kiosk/disclosures")
    assert page.status_code == 200
    assert "puskesmas-kemayoran" not in page.text
    assert "<table" not in page.text
    wrong = client.post(
        "/kiosk/disclosures", data={"csrf_token": csrf_of(page.text), "pin": "000000"}
    )
    assert wrong.status_code == 403
    assert "puskesmas-kemayoran" not in wrong.text
    right = client.post("/kiosk/disclosures", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    assert right.status_code == 200
    assert "puskesmas-kemayoran" in right.text


def test_the_staff_member_cannot_list_the_subjects_consents_without_the_pin(
    world: World, client: Client
) -> None:
    """The kiosk's list of the subject's consents is shown only after the subject's PIN."""
    subject, consent_id = signed_subject(world)
    open_kiosk(client, subject)
    page = client.get("/kiosk/consents")
    assert page.status_code == 200
    assert str(consent_id) not in page.text
    right = client.post("/kiosk/consents", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    assert right.status_code == 200
    assert str(consent_id) in right.text


def test_the_export_needs_the_pin(world: World, client: Client) -> None:
    """The subject's copy of their data is never produced without their PIN."""
    subject, _ = signed_subject(world)
    open_kiosk(client, subject)
    page = client.get("/kiosk/my-data")
    refused = client.post("/kiosk/my-data", data={"csrf_token": csrf_of(page.text), "pin": ""})
    assert refused.status_code == 403
    assert "application/json" not in refused.headers.get("content-type", "")
    assert events(world, subject, EventAction.SUBJECT_EXPORT) == []


def test_every_kiosk_event_names_the_staff_member_who_opened_the_session(
    world: World, client: Client
) -> None:
    """A wrong PIN, a receipt and a withdrawal at the kiosk are filed under the staff
    member who opened the session, with the role "subject" (the subject acted)."""
    subject, consent_id = signed_subject(world)
    officer = str(world.officers[ORG])
    open_kiosk(client, subject)
    page = client.get("/kiosk/my-data")
    client.post("/kiosk/my-data", data={"csrf_token": csrf_of(page.text), "pin": "000000"})
    client.get(f"/kiosk/receipts/{consent_id}")
    page = client.get(f"/kiosk/consents/{consent_id}/withdraw")
    done = client.post(
        f"/kiosk/consents/{consent_id}/withdraw",
        data={"csrf_token": csrf_of(page.text), "pin": PIN},
    )
    assert done.status_code == 200, done.text
    for action in (
        EventAction.KIOSK_OPEN,
        EventAction.CONSENT_PIN_FAILED,
        EventAction.CONSENT_RECEIPT,
        EventAction.CONSENT_WITHDRAW,
    ):
        [event] = events(world, subject, action)
        assert str(event["actor_id"]) == officer, action
    for action in (EventAction.CONSENT_PIN_FAILED, EventAction.CONSENT_WITHDRAW):
        [event] = events(world, subject, action)
        assert event["actor_role"] == "subject", action


def sign_over_api(client: Client, token: str, subject: uuid.UUID, kiosk: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if kiosk is not None:
        headers["X-Kiosk-Session"] = kiosk
    return client.post(
        f"/v1/subjects/{subject}/consents",
        json={
            "form_id": "rehabilitation",
            "form_version": 1,
            "language": "id",
            "granted_purposes": ["counseling", "health_treatment"],
            "signature": {"method": "pin", "pin": PIN},
        },
        headers=headers,
    )


def test_staff_cannot_sign_for_the_subject_over_the_api(world: World, client: Client) -> None:
    """An officer who knows the subject's PIN cannot sign over the API unless inside the
    kiosk session they opened for that very subject."""
    subject, other = world.subject(), world.subject()
    login = client.post("/v1/auth/login", json={"username": "officer1", "password": PASSWORD})
    token = login.json()["access_token"]
    assert sign_over_api(client, token, subject, None).status_code == 403
    assert sign_over_api(client, token, subject, "made-up").status_code == 403
    open_kiosk(client, other)  # a session for another subject
    elsewhere = client.cookies.get(KIOSK_COOKIE)
    assert sign_over_api(client, token, subject, elsewhere).status_code == 403
    assert world.services.consents.active_consents(subject, world.clock()) == []
    client.cookies.clear()
    open_kiosk(client, subject)
    bound = sign_over_api(client, token, subject, client.cookies.get(KIOSK_COOKIE))
    assert bound.status_code == 201, bound.text


def test_a_kiosk_session_of_another_staff_member_does_not_let_an_officer_sign(
    world: World, client: Client
) -> None:
    """A counselor's kiosk session for the subject does not let an officer sign over the API."""
    subject = world.subject()
    open_kiosk(client, subject, username="counselor1")
    theirs = client.cookies.get(KIOSK_COOKIE)
    login = client.post("/v1/auth/login", json={"username": "officer1", "password": PASSWORD})
    token = login.json()["access_token"]
    assert sign_over_api(client, token, subject, theirs).status_code == 403


def open_with_sentra(client: Client, subject: uuid.UUID, sentra: str, language: str) -> Any:
    page = client.get("/kiosk/login")
    start = client.post(
        "/kiosk/login",
        data={"csrf_token": csrf_of(page.text), "username": "officer1", "password": PASSWORD},
    )
    return client.post(
        "/kiosk/start",
        data={
            "csrf_token": csrf_of(start.text),
            "subject_id": str(subject),
            "language": language,
            "sentra": sentra,
        },
    )


def test_the_handover_recipient_is_an_existing_kemensos_organisation(
    world: World, client: Client
) -> None:
    """The staff member cannot name a made-up or non-Kemensos recipient for the handover."""
    subject = world.subject()
    page = client.get("/kiosk/login")
    start = client.post(
        "/kiosk/login",
        data={"csrf_token": csrf_of(page.text), "username": "officer1", "password": PASSWORD},
    )
    assert '<option value="sentra-handayani">Sentra Handayani</option>' in start.text
    assert 'value="lapas-cipinang"' not in start.text
    for made_up in ("sentra-palsu", "lapas-cipinang"):
        refused = open_with_sentra(client, subject, made_up, "id")
        assert refused.status_code == 422
        assert not str(refused.url).endswith("/kiosk/home")
    assert events(world, subject, EventAction.KIOSK_OPEN) == []


@pytest.mark.parametrize("language", ["id", "en"])
def test_the_handover_sentra_is_named_on_the_purpose_summary_and_receipt(
    world: World, client: Client, language: str
) -> None:
    """The chosen sentra is shown by name where the subject decides, and on the receipt."""
    subject = world.subject()
    home = open_with_sentra(client, subject, "sentra-handayani", language)
    assert home.status_code == 200, home.text
    form = world.services.consents.form("rehabilitation")
    page = client.get("/kiosk/forms/rehabilitation/purposes/1")
    for number, purpose in enumerate(form.purposes, start=1):
        if purpose.needs_sentra:
            assert "Sentra Handayani" in page.text, number
        page = client.post(
            str(page.url.path), data={"csrf_token": csrf_of(page.text), "choice": "accept"}
        )
    assert page.url.path.endswith("/summary")
    assert "Sentra Handayani" in page.text
    receipt = client.post(
        "/kiosk/forms/rehabilitation/sign", data={"csrf_token": csrf_of(page.text), "pin": PIN}
    )
    assert receipt.status_code == 200, receipt.text
    assert "/kiosk/receipts/" in str(receipt.url)
    assert "Sentra Handayani" in receipt.text
    [grant] = [
        g
        for g in world.services.consents.active_consents(subject, world.clock())
        if g.purpose == "handover_kemensos"
    ]
    assert grant.recipients == {"sentra-handayani"}


class CountingPins:
    """Counts how many PINs are actually evaluated (thread-safe)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.evaluated = 0
        self.lock = threading.Lock()

    def verify(self, stored_hash: str, secret: str) -> bool:
        with self.lock:
            self.evaluated += 1
        return bool(self.inner.verify(stored_hash, secret))

    def hash(self, secret: str) -> str:
        return str(self.inner.hash(secret))

    def needs_rehash(self, stored_hash: str) -> bool:
        return bool(self.inner.needs_rehash(stored_hash))


def test_parallel_wrong_pins_are_evaluated_at_most_the_limit(world: World) -> None:
    """Forty wrong PINs sent at once for one subject: no more than the limit are evaluated."""
    subject = world.subject()
    consents = world.services.consents
    counting = CountingPins(consents.hasher)
    consents.hasher = counting
    outcomes: list[str] = []

    def guess(n: int) -> None:
        try:
            ok = consents.verify_pin(subject, f"{n:06d}", officer_of(world))
            outcomes.append("right" if ok else "wrong")
        except RateLimited:
            outcomes.append("limited")

    with ThreadPoolExecutor(max_workers=40) as pool:
        list(pool.map(guess, range(100000, 100040)))
    limit = world.services.settings.pin_max_failures
    assert counting.evaluated <= limit
    assert outcomes.count("wrong") <= limit
    assert outcomes.count("limited") >= 40 - limit


def test_pin_hashes_are_peppered_and_old_ones_rehashed(world: World) -> None:
    """A stored PIN hash cannot be checked against a guess without the key provider's pepper;
    a hash from before the pepper is replaced by a peppered one on its next right use."""
    subject = world.subject()
    services = world.services
    with services.db.read_session() as session:
        row = session.get(Subject, subject)
        assert row is not None
        assert row.pin_hash is not None
        stored = row.pin_hash
    assert stored.startswith("pep1$")
    inner = stored.removeprefix("pep1$")
    assert not services.hasher.verify(inner, PIN)  # the dump alone does not confirm the PIN
    with services.db.session() as session:
        row = session.get(Subject, subject)
        assert row is not None
        row.pin_hash = services.hasher.hash(PIN)  # as stored before the pepper
    assert services.consents.verify_pin(subject, PIN)
    with services.db.read_session() as session:
        row = session.get(Subject, subject)
        assert row is not None
        assert row.pin_hash is not None
        assert row.pin_hash.startswith("pep1$")
    assert services.consents.verify_pin(subject, PIN)


RECORDS = {
    "counselor": (
        "psychological_assessment",
        {"instrument": "SRQ-20", "summary": "s", "risk_level": "low", "recommendations": "r"},
    ),
    "social_worker": ("family_data", {"family_members": "ibu", "contact_person": "ibu"}),
    "health": ("health_napza", {"hiv_status": "negative", "treatment": "t"}),
}
SENTRA_READER = "sentra_sw"


@pytest.fixture
def api_world(settings: Settings) -> Iterator[ApiWorld]:
    """Staff of every role of one prison and a subject (tests/world.py), plus a sentra."""
    for built in build_api_world(settings):
        ensure_organization(built.services, "sentra-handayani")
        for who, role in (("sentra_admin", "admin"), (SENTRA_READER, "social_worker")):
            built.user_ids[who] = str(create_user(built.services, who, role, "sentra-handayani"))
            built.headers[who] = login(built.client, who)
        yield built


@pytest.mark.parametrize(
    "purpose",
    ["counseling", "social_reintegration", "health_treatment", "handover_kemensos", "statistics"],
)
def test_each_purpose_releases_what_its_form_text_says(api_world: ApiWorld, purpose: str) -> None:
    """Under a consent granting one purpose, every reader gets only that purpose's categories
    (health data only to health officers, nothing at all for statistics)."""
    world = api_world
    records = {who: world.create_record(who, *RECORDS[who]) for who in RECORDS}
    types = {records[who]: RECORDS[who][0] for who in RECORDS}
    body: dict[str, Any] = {
        "form_id": "rehabilitation",
        "form_version": 1,
        "language": "id",
        "granted_purposes": [purpose],
        "signature": {"method": "pin", "pin": SUBJECT_PIN},
        "recipients": {"handover_kemensos": ["sentra-handayani"]},
    }
    world.post("officer", f"/v1/subjects/{world.subject_id}/consents", body)
    assigned = world.client.post(
        "/v1/assignments",
        json={"user_id": world.user_ids[SENTRA_READER], "subject_id": world.subject_id},
        headers=world.auth("sentra_admin"),
    )
    assert assigned.status_code == (201 if purpose == "handover_kemensos" else 404)
    promised = {
        c.value for c in world.services.consents.form("rehabilitation").purpose(purpose).categories
    }
    catalog = world.services.catalog
    released: dict[str, set[str]] = {}
    for reader in ("counselor", "social_worker", "health", SENTRA_READER):
        for record_id, record_type in types.items():
            response = world.read(reader, record_id, purpose)
            if response.status_code != 200:
                continue
            for name in response.json()["fields"]:
                category = catalog.category_of(record_type, name).value
                released.setdefault(reader, set()).add(category)
    everything = set().union(*released.values()) if released else set()
    assert everything <= promised
    if purpose == "statistics":
        assert released == {}
    if purpose == "health_treatment":
        assert set(released) == {"health"}
    if purpose == "handover_kemensos":
        assert "health_sensitive" not in everything
        assert SENTRA_READER in released
    else:
        assert SENTRA_READER not in released


def test_the_subjects_export_appears_in_their_own_disclosures(world: World, client: Client) -> None:
    """A copy of the subject's data made at the kiosk is listed in "who read my data"."""
    subject, _ = signed_subject(world)
    open_kiosk(client, subject)
    page = client.get("/kiosk/my-data")
    export = client.post("/kiosk/my-data", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("application/json")
    page = client.get("/kiosk/disclosures")
    shown = client.post("/kiosk/disclosures", data={"csrf_token": csrf_of(page.text), "pin": PIN})
    assert shown.status_code == 200
    assert "right_of_access" in shown.text
