"""What compliance officers (and, for their own disclosures, subjects) read from the log.

Every answer is decoded from the stored canonical bytes, the same bytes the
chain hashes, so what is shown is what verification vouches for. The other
columns (actor, subject, action, outcome, time) are indexes for filtering; a
database writer could rewrite them between two verifications to make an event
answer a filter it does not match (another organisation's event in this one's
view, a login listed as a disclosure). So every event returned is checked
against the filter once more, on its decoded content, and one that does not
match is left out and logged CRITICAL (``_answers``); one hidden from a filter
is found by the next ``vault audit verify``.

Used by the HTTP API, the CLI and the web pages: ``AuditQueries(services.db)``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Select, func, select

from vault.audit.canonical import decode, parse_time
from vault.audit.checkpoints import Checkpoint
from vault.audit.events import Outcome
from vault.audit.models import EVENTS
from vault.audit.scope import SUBJECTS, events_of
from vault.audit.verify import stored_checkpoints
from vault.audit.walk import newest_rows
from vault.db import READ_ONLY_OPTION, Database
from vault.errors import InvalidInput
from vault.vocabulary import EventAction

log = logging.getLogger("vault.audit")

MAX_PAGE = 1000
DEFAULT_PAGE = 100
EXPORT_CHUNK = MAX_PAGE
DISCLOSURE_ACTIONS = (EventAction.RECORD_READ.value,)
# Sequence numbers are BIGINT: a cursor beyond it is no value ever returned.
MAX_SEQ = 2**63 - 1

# The columns of a CSV export, in order (lists joined with ";", details as JSON).
CSV_COLUMNS = (
    "seq",
    "time",
    "action",
    "outcome",
    "actor_id",
    "actor_role",
    "actor_org",
    "subject_id",
    "target_id",
    "categories",
    "purpose",
    "consent_id",
    "break_glass",
    "break_glass_id",
    "policy_ids",
    "reason",
    "request_id",
    "client_addr",
    "details",
)


@dataclass(frozen=True)
class AuditFilters:
    """Filters of the audit API; all optional, combined with AND.

    ``since`` is inclusive and ``until`` exclusive; ``cursor`` is the ``seq``
    after which the page starts (keyset pagination: stable while events arrive).
    ``organization`` keeps only the events that belong to it (``vault.audit.scope``);
    None is the whole log, for the host's own tools only.
    """

    organization: str | None = None
    subject_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    decision: Outcome | None = None
    break_glass: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE
    cursor: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}.")
        if self.cursor is not None and not 0 <= self.cursor <= MAX_SEQ:
            raise InvalidInput("cursor must be a value returned as next_cursor.")
        for name in ("since", "until"):
            moment = getattr(self, name)
            if moment is not None:
                object.__setattr__(self, name, _utc(moment, name))

    @staticmethod
    def parse_cursor(text: str | None) -> int | None:
        if text is None or text == "":
            return None
        if not text.isdigit() or len(text) > 19 or int(text) > MAX_SEQ:
            raise InvalidInput("cursor must be a value returned as next_cursor.")
        return int(text)


def _utc(moment: datetime, name: str) -> datetime:
    """The moment in UTC (a time without a zone is read as UTC, the only zone stored)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00+14:00 is a valid text but falls before year 1 in UTC.
        raise InvalidInput(f"{name} is out of range once converted to UTC.") from None


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"events": self.events, "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class DayCount:
    day: date
    allowed: int
    denied: int


def _filtered(filters: AuditFilters) -> Select[Any]:
    query = select(EVENTS.c.seq, EVENTS.c.canonical)
    if filters.organization is not None:
        query = query.where(events_of(filters.organization))
    if filters.subject_id is not None:
        query = query.where(EVENTS.c.subject_id == filters.subject_id)
    if filters.actor_id is not None:
        query = query.where(EVENTS.c.actor_id == filters.actor_id)
    if filters.action is not None:
        query = query.where(EVENTS.c.action == filters.action)
    if filters.decision is not None:
        query = query.where(EVENTS.c.outcome == filters.decision.value)
    if filters.break_glass is not None:
        query = query.where(EVENTS.c.break_glass == filters.break_glass)
    if filters.since is not None:
        query = query.where(EVENTS.c.time >= filters.since)
    if filters.until is not None:
        query = query.where(EVENTS.c.time < filters.until)
    if filters.cursor is not None:
        query = query.where(EVENTS.c.seq > filters.cursor)
    return query.order_by(EVENTS.c.seq)


def _id(value: object) -> str | None:
    return None if value is None else str(value)


def _matches(event: dict[str, Any], filters: AuditFilters) -> bool:
    """Whether the decoded (hashed) event itself matches the filters, but the organisation."""
    expected: list[tuple[object, object]] = []
    if filters.subject_id is not None:
        expected.append((event.get("subject_id"), str(filters.subject_id)))
    if filters.actor_id is not None:
        expected.append((event.get("actor_id"), str(filters.actor_id)))
    if filters.action is not None:
        expected.append((event.get("action"), filters.action))
    if filters.decision is not None:
        expected.append((event.get("outcome"), filters.decision.value))
    if filters.break_glass is not None:
        expected.append((bool(event.get("break_glass")), filters.break_glass))
    if any(found != wanted for found, wanted in expected):
        return False
    if filters.since is None and filters.until is None:
        return True
    try:
        moment = parse_time(str(event.get("time")))
    except ValueError:
        return False
    return (filters.since is None or moment >= filters.since) and (
        filters.until is None or moment < filters.until
    )


def _answers(conn: Connection, filters: AuditFilters, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The decoded events of ``rows`` that match the filters by their hashed content; an event
    selected only by columns rewritten in the database is left out (and logged CRITICAL)."""
    decoded = [(int(seq), decode(bytes(canonical))) for seq, canonical in rows]
    held: set[str] = set()
    organization = filters.organization
    if organization is not None:
        subjects = {e["subject_id"] for _, e in decoded if e.get("subject_id")}
        if subjects:
            found = conn.execute(
                select(SUBJECTS.c.id).where(
                    SUBJECTS.c.id.in_([uuid.UUID(str(s)) for s in subjects]),
                    SUBJECTS.c.organization == organization,
                )
            ).scalars()
            held = {str(uuid.UUID(str(subject))) for subject in found}
    answers = []
    for seq, event in decoded:
        mine = organization is None or (
            event.get("actor_org") == organization or _id(event.get("subject_id")) in held
        )
        if mine and _matches(event, filters) and event.get("seq") == seq:
            answers.append(event)
        else:
            log.critical(
                "audit event %d: its filter columns do not match its hashed content; left out",
                seq,
            )
    return answers


class AuditQueries:
    def __init__(self, db: Database) -> None:
        self._reader = db.engine.execution_options(**{READ_ONLY_OPTION: True})

    def _connect(self) -> Connection:
        return self._reader.connect()

    def events(self, filters: AuditFilters) -> EventPage:
        """One page of events in seq order, and the cursor of the next page (None at the end)."""
        with self._connect() as conn:
            rows = conn.execute(_filtered(filters).limit(filters.limit + 1)).all()
            more = len(rows) > filters.limit
            rows = rows[: filters.limit]
            events = _answers(conn, filters, rows)
        next_cursor = str(int(rows[-1][0])) if more and rows else None
        return EventPage(events=events, next_cursor=next_cursor)

    def iter_events(self, filters: AuditFilters) -> Iterator[dict[str, Any]]:
        """Every matching event (``limit`` ignored), fetched a chunk at a time for exports."""
        cursor = filters.cursor
        while True:
            page = self.events(replace(filters, cursor=cursor, limit=EXPORT_CHUNK))
            yield from page.events
            if page.next_cursor is None:
                return
            cursor = int(page.next_cursor)

    def disclosures(self, subject_id: uuid.UUID) -> list[dict[str, Any]]:
        """Accounting of disclosures: every allowed read of the subject's records.

        Who (id, role, organisation), when, which categories, for which purpose,
        under which consent or break-glass grant, and in which request.
        """
        result = []
        for action in DISCLOSURE_ACTIONS:
            filters = AuditFilters(subject_id=subject_id, action=action, decision=Outcome.ALLOW)
            for event in self.iter_events(filters):
                result.append(
                    {
                        "seq": event["seq"],
                        "time": event["time"],
                        "action": event["action"],
                        "actor_id": event["actor_id"],
                        "actor_role": event["actor_role"],
                        "actor_org": event["actor_org"],
                        "record_id": event["target_id"],
                        "categories": event["categories"],
                        "purpose": event["purpose"],
                        "consent_id": event["consent_id"],
                        "break_glass": event["break_glass"],
                        "break_glass_id": event["break_glass_id"],
                        "request_id": event["request_id"],
                    }
                )
        result.sort(key=lambda disclosure: int(disclosure["seq"]))
        return result

    def newest(self, filters: AuditFilters) -> list[dict[str, Any]]:
        """The newest ``filters.limit`` matching events, newest first (``cursor`` ignored).

        Found without reading the whole log (``vault.audit.walk``), then rechecked
        against their hashed content like every answer.
        """
        query = _filtered(replace(filters, cursor=None)).order_by(None)
        with self._connect() as conn:
            return _answers(conn, filters, newest_rows(conn, query, filters))

    def daily_counts(
        self, days: int, today: date, *, organization: str | None = None
    ) -> list[DayCount]:
        """Allowed and denied decisions per UTC day, for the last ``days`` days up to ``today``.

        Only the events of ``organization`` when it is given (``vault.audit.scope``).
        """
        if not 1 <= days <= 366:
            raise InvalidInput("days must be between 1 and 366.")
        first = today - timedelta(days=days - 1)
        start = datetime.combine(first, time(), tzinfo=UTC)
        end = datetime.combine(today + timedelta(days=1), time(), tzinfo=UTC)
        with self._connect() as conn:
            if conn.dialect.name == "postgresql":
                day = func.to_char(func.timezone("UTC", EVENTS.c.time), "YYYY-MM-DD")
            else:
                # SQLite keeps the UTC time as text "YYYY-MM-DD HH:MM:SS.ffffff".
                day = func.substr(EVENTS.c.time, 1, 10)
            query = select(day, EVENTS.c.outcome, func.count())
            if organization is not None:
                query = query.where(events_of(organization))
            rows = conn.execute(
                query.where(EVENTS.c.time >= start, EVENTS.c.time < end)
                .where(EVENTS.c.outcome.in_([Outcome.ALLOW.value, Outcome.DENY.value]))
                .group_by(day, EVENTS.c.outcome)
            ).all()
        counts: dict[str, dict[str, int]] = {}
        for day_text, outcome, count in rows:
            counts.setdefault(str(day_text), {})[str(outcome)] = int(count)
        result = []
        for offset in range(days):
            current = first + timedelta(days=offset)
            found = counts.get(current.isoformat(), {})
            result.append(
                DayCount(
                    day=current,
                    allowed=found.get(Outcome.ALLOW.value, 0),
                    denied=found.get(Outcome.DENY.value, 0),
                )
            )
        return result

    def checkpoints(self) -> list[Checkpoint]:
        with self._connect() as conn:
            return stored_checkpoints(conn)


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    text = str(value)
    # A spreadsheet would run a cell starting with one of these as a formula.
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def csv_lines(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A CSV export, one header line then one line per event."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue()
    for event in events:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(event.get(column)) for column in CSV_COLUMNS])
        yield buffer.getvalue()


def jsonl_lines(events: Iterator[dict[str, Any]]) -> Iterator[str]:
    """A JSON Lines export: each event exactly as the chain stores it, one per line."""
    for event in events:
        yield json.dumps(event, sort_keys=True, ensure_ascii=False) + "\n"
