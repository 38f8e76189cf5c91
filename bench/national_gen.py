"""The national-size generator: one subject written through the services, copied with COPY.

:func:`build_template` runs the vault's own services on an empty store, as the
API handlers would: an officer registers a subject (identity record, blind
indexes, wrapped data key), the subject chooses a PIN, an administrator puts
a counselor on its care team, the subject signs the rehabilitation consent,
and the counselor writes one psychological assessment and ``notes`` progress
notes. Every row that wrote, and every audit event, is the template.

:func:`copy_subjects` then writes copies of that subject with text-format COPY,
each with ids of its own (every UUID the template's rows and events hold,
but the staff's), its own data key wrapped for it under the current KEK, its
fields sealed again under that key and bound to the copy's ids, its own blind
indexes, times moved back by ``spacing`` a copy, and its own counselor (one for
every ``caseload`` subjects). The audit events are the template's canonical
bytes with those ids, times and sequence numbers in place, chained
(``SHA-256(prev_hash || canonical)``) after the template's, and the
transparency tree's nodes are extended over them by the vault's own
``TreeAppender``: the result verifies with ``vault audit verify`` like any
chain. Two things are copied as they are: the PIN's hash (every copy has the
template's PIN: an Argon2 hash a subject would cost seconds) and the consent's
signed receipt (a JWS over the template's ids, read only when the subject asks
for it).
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench.common import settings_from_env
from bench.http_read import PASSWORD  # the staff log in over HTTP as bench.caseload's do

ORG = "lapas-national"
PIN = "730419"
SUBJECT_TABLES = [
    "subjects",
    "subject_keys",
    "records",
    "record_fields",
    "assignments",
    "consents",
    "consent_purposes",
]
BULK_TABLES = [*SUBJECT_TABLES, "audit_events", "audit_nodes"]
ASSESSMENT = {
    "instrument": "SRQ-20",
    "summary": "Reports low mood since the transfer; sleeps poorly; engaged in the session. " * 6,
    "observations": "Calm, oriented, good eye contact; speaks slowly about the family.",
    "risk_level": "moderate",
    "recommendations": "Weekly counseling; join the vocational workshop; family visit plan.",
}
_TOKENS = re.compile(
    r"(?P<uuid>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
    r"|(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)"
    r'|(?P<seq>"seq":\d+)'
)


def note(n: int) -> dict[str, str]:
    return {
        "session_date": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}",
        "note": f"Session {n}: talked about the family visit and the workshop. " * 3,
        "next_steps": "Keep the weekly session; ask about the visit.",
    }


def settings_env(tmp: Path, url: str) -> dict[str, str]:
    return {
        "VAULT_DATABASE_URL": url,
        "VAULT_KEYS_DIR": str(tmp / "keys"),
        "VAULT_TESTING": "1",
        "VAULT_ARGON2_PROFILE": "cheapest",
        "VAULT_LOG_LEVEL": "WARNING",
        "VAULT_READ_LIMIT_PER_MINUTE": "0",
    }


def open_services(env: dict[str, str]) -> Any:
    from vault.services import build_services

    settings = settings_from_env(env)
    return build_services(settings, migrate=True)


@dataclass
class Template:
    """What the services wrote for one subject, and who the staff are."""

    counselors: list[uuid.UUID]
    staff: set[uuid.UUID]
    subject_id: uuid.UUID
    rows: dict[str, list[dict[str, Any]]]
    events: list[dict[str, Any]]
    plaintext: dict[uuid.UUID, dict[str, str]]  # record id -> its fields, opened
    head: tuple[int, bytes]  # the chain's head after the template
    nodes: dict[tuple[int, int], bytes]
    records: list[uuid.UUID] = field(default_factory=list)


def build_template(env: dict[str, str], counselors: int, notes: int) -> Template:
    from vault.consent.service import SignRequest
    from vault.records.fieldcrypt import open_fields
    from vault.subjects.registration import NewSubject
    from vault.transparency import hash_leaf
    from vault.vocabulary import Principal, Role

    services = open_services(env)
    try:
        services.identity.create_organization(ORG, "Lapas Bench Nasional", "imipas")

        def staff(username: str, role: Role) -> Principal:
            user = services.identity.create_user(username, PASSWORD, role.value, ORG)
            return Principal(id=user.id, role=role, organization=ORG)

        officer = staff("bench-officer", Role.OFFICER)
        admin = staff("bench-admin", Role.ADMIN)
        team = [staff(f"bench-counselor-{i}", Role.COUNSELOR) for i in range(counselors)]
        counselor = team[0]
        subject_id = services.subjects.register(
            officer,
            NewSubject(
                full_name="Bench Subject Template",
                nik="3171000000000001",
                register_number="B.I-1/2026",
                date_of_birth=date(1984, 3, 9),
                organization=ORG,
            ),
        )
        services.consents.choose_pin(subject_id, PIN, PIN, witness=None, kiosk_session=None)
        services.access.assign(admin, counselor.id, subject_id)
        services.consents.sign(
            officer,
            subject_id,
            SignRequest(
                form_id="rehabilitation",
                form_version=1,
                language="id",
                granted_purposes=frozenset({"counseling", "social_reintegration"}),
                pin=PIN,
            ),
        )
        services.records.create_record(
            counselor, subject_id, "psychological_assessment", ASSESSMENT
        )
        for k in range(notes):
            services.records.create_record(counselor, subject_id, "progress_note", note(k))
        with services.db.read_session() as session:
            dek = services.subject_keys.data_key(session, subject_id)
    finally:
        services.close()
    engine = create_engine(env["VAULT_DATABASE_URL"])
    with engine.connect() as conn:
        rows = {
            table: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {table}"))]
            for table in SUBJECT_TABLES
        }
        first = conn.execute(
            text("SELECT min(seq) FROM audit_events WHERE subject_id = :s"), {"s": subject_id}
        ).scalar_one()
        events = [
            dict(r._mapping)
            for r in conn.execute(
                text("SELECT * FROM audit_events WHERE seq >= :f ORDER BY seq"), {"f": first}
            )
        ]
        nodes = {
            (int(level), int(idx)): bytes(h)
            for level, idx, h in conn.execute(text("SELECT level, idx, hash FROM audit_nodes"))
        }
        # Leaves are not stored as nodes (the vault reads them from the events); the copies'
        # appender needs the last one when the template's chain has an odd length.
        nodes.update(
            ((0, int(seq) - 1), hash_leaf(bytes(h)))
            for seq, h in conn.execute(text("SELECT seq, hash FROM audit_events"))
        )
    engine.dispose()
    fields: dict[Any, dict[str, bytes]] = {}
    for row in rows["record_fields"]:
        fields.setdefault(row["record_id"], {})[row["name"]] = bytes(row["ciphertext"])
    plaintext = {
        record["id"]: open_fields(
            dek,
            subject_id=subject_id,
            record_id=record["id"],
            record_type=record["record_type"],
            version=record["version"],
            stored=fields[record["id"]],
            wanted=list(fields[record["id"]]),
        )
        for record in rows["records"]
    }
    last = events[-1]
    return Template(
        counselors=[c.id for c in team],
        staff={officer.id, admin.id, *(c.id for c in team)},
        subject_id=subject_id,
        rows=rows,
        events=events,
        plaintext=plaintext,
        head=(int(last["seq"]), bytes(last["hash"])),
        nodes=nodes,
        records=[r["id"] for r in rows["records"] if r["record_type"] != "identity"],
    )


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def literal(value: Any) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes | memoryview):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return _escape(str(value))


def _braced(value: str) -> str:
    return value.replace("{", "{{").replace("}", "}}")


@dataclass
class Compiled:
    """The template as format strings: ids, times, keys and sealed values filled per copy.

    Fields: ``u`` the copy's ids, ``t``/``z`` its times (COPY text / the canonical
    encoding's), ``c`` its counselor, ``x`` its sealed fields, ``w`` its wrapped
    key, ``r`` its blind indexes, ``n`` its events' row ids, ``q`` their seqs.
    """

    ids: list[uuid.UUID]
    times: list[datetime]
    tables: dict[str, str]  # the copy's rows of each table, as one format string
    records: list[tuple[int, str, int, dict[str, str]]]  # (id index, type, version, values)
    sealed: list[tuple[int, str]]  # the order of ``x``: (record id index, field name)
    randoms: list[int]  # the byte lengths of ``r``
    subject: int  # the subject id's index in ids
    counselors: list[uuid.UUID]
    events: list[tuple[str, str]]  # (the row up to prev_hash, the canonical bytes)
    head: tuple[int, bytes]
    nodes: dict[tuple[int, int], bytes]


def compile_template(template: Template) -> Compiled:
    from vault.audit.canonical import parse_time

    ids: dict[uuid.UUID, int] = {}
    times: dict[datetime, int] = {}
    sealed: list[tuple[int, str]] = []
    randoms: list[int] = []
    counselor = template.counselors[0]

    def uid(value: uuid.UUID) -> str:
        if value == counselor:
            return "{c}"
        if value in template.staff:
            return _braced(literal(value))
        return f"{{u[{ids.setdefault(value, len(ids))}]}}"

    def moment(value: datetime, kind: str = "t") -> str:
        return f"{{{kind}[{times.setdefault(value, len(times))}]}}"

    tables: dict[str, str] = {}
    for table, rows in template.rows.items():
        lines = []
        for row in rows:
            parts: list[str] = []
            for column, value in row.items():
                if table == "record_fields" and column == "ciphertext":
                    sealed.append((ids.setdefault(row["record_id"], len(ids)), row["name"]))
                    parts.append(f"{{x[{len(sealed) - 1}]}}")
                elif table == "subject_keys" and column == "wrapped_dek":
                    parts.append("{w}")
                elif table == "subjects" and column in ("nik_index", "register_index"):
                    randoms.append(len(value) // 2)
                    parts.append(f"{{r[{len(randoms) - 1}]}}")
                elif isinstance(value, uuid.UUID):
                    parts.append(uid(value))
                elif isinstance(value, datetime):
                    parts.append(moment(value))
                else:
                    parts.append(_braced(literal(value)))
            lines.append("\t".join(parts) + "\n")
        tables[table] = "".join(lines)
    by_text: dict[str, uuid.UUID] = {}
    events = []
    first = int(template.events[0]["seq"])
    for number, event in enumerate(template.events):
        columns: list[str] = []
        for column, value in event.items():
            if column in ("prev_hash", "canonical", "hash"):
                continue
            if column == "id":
                columns.append(f"{{n[{number}]}}")
            elif column == "seq":
                columns.append(f"{{q[{int(value) - first}]}}")
            elif isinstance(value, uuid.UUID):
                columns.append(uid(value))
            elif isinstance(value, datetime):
                columns.append(moment(value))
            else:
                columns.append(_braced(literal(value)))
        canonical_text = bytes(event["canonical"]).decode("utf-8")
        canonical: list[str] = []
        at = 0
        for match in _TOKENS.finditer(canonical_text):
            canonical.append(_braced(canonical_text[at : match.start()]))
            token = match.group(0)
            if match.lastgroup == "uuid":
                value = by_text.setdefault(token, uuid.UUID(token))
                if value != counselor and value not in template.staff and value not in ids:
                    raise RuntimeError(f"an event names an id no template row holds: {token}")
                canonical.append(uid(value))
            elif match.lastgroup == "time":
                canonical.append(moment(parse_time(token), "z"))
            else:
                canonical.append(f'"seq":{{q[{int(token.split(":")[1]) - first}]}}')
            at = match.end()
        canonical.append(_braced(canonical_text[at:]))
        events.append(("\t".join(columns) + "\t", "".join(canonical)))
    records = [
        (ids[r["id"]], r["record_type"], int(r["version"]), template.plaintext[r["id"]])
        for r in template.rows["records"]
    ]
    return Compiled(
        ids=list(ids),
        times=list(times),
        tables=tables,
        records=records,
        sealed=sealed,
        randoms=randoms,
        subject=ids[template.subject_id],
        counselors=template.counselors,
        events=events,
        head=template.head,
        nodes=template.nodes,
    )


@dataclass
class Rendered:
    """The COPY text of a run of copies, and their events waiting to be chained."""

    tables: dict[str, list[str]]
    events: list[tuple[str, bytes]]  # (the row up to prev_hash, canonical bytes)
    subjects: list[
        tuple[uuid.UUID, uuid.UUID, list[uuid.UUID]]
    ]  # sampled: (subject, counselor, records)
    deks: dict[uuid.UUID, bytes]  # data keys of the sampled subjects (for the reads)
    count: int = 0  # copies rendered


_WORK: dict[str, Any] = {}
SAME_TIMES = 10  # copies that share their times (formatting 400 times a copy cost a tenth)


def start_worker(
    compiled: Compiled, keys_dir: str, caseload: int, spacing: float, total: int
) -> None:
    from vault.crypto.providers.file import FileKeyProvider

    _WORK.update(
        compiled=compiled,
        provider=FileKeyProvider(Path(keys_dir)),
        caseload=caseload,
        spacing=spacing,
        total=total,
        times={},
    )


def _uuids(count: int) -> list[str]:
    """``count`` random (version 4) UUIDs as text."""
    return _uuid_text(_uuid_bytes(count))


def _uuid_bytes(count: int) -> bytes:
    raw = bytearray(os.urandom(16 * count))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])
    return bytes(raw)


def _uuid_text(raw: bytes) -> list[str]:
    count = len(raw) // 16
    h = raw.hex()
    return [
        f"{h[i : i + 8]}-{h[i + 8 : i + 12]}-{h[i + 12 : i + 16]}-{h[i + 16 : i + 20]}-"
        f"{h[i + 20 : i + 32]}"
        for i in range(0, 32 * count, 32)
    ]


def _times(n: int) -> tuple[list[str], list[str]]:
    """Copy n's times: the template's moved back, oldest copy first, as COPY and JSON text."""
    from vault.audit.canonical import format_time

    group = n // SAME_TIMES
    cache: dict[int, tuple[list[str], list[str]]] = _WORK["times"]
    if group not in cache:
        cache.clear()
        total, spacing = _WORK["total"], _WORK["spacing"]
        delta = timedelta(seconds=(group * SAME_TIMES - total) * spacing)
        shifted = [t + delta for t in _WORK["compiled"].times]
        cache[group] = ([t.isoformat(sep=" ") for t in shifted], [format_time(t) for t in shifted])
    return cache[group]


def render(span: tuple[int, int, int]) -> Rendered:
    """Copies ``start..stop`` (copy n is the n-th subject; 0 is the template itself)."""
    from vault.crypto.keys import DataKey
    from vault.records.fieldcrypt import seal_fields

    start, stop, sample_every = span
    c: Compiled = _WORK["compiled"]
    provider = _WORK["provider"]
    caseload = _WORK["caseload"]
    out = Rendered({t: [] for t in c.tables}, [], [], {}, stop - start)
    per_copy = len(c.events)
    record_indexes = {index for index, _, _, _ in c.records}
    for n in range(start, stop):
        raw_ids = _uuid_bytes(len(c.ids))
        text_ids = _uuid_text(raw_ids)
        # The sealing binds the records' and subject's ids: built from the bytes, not parsed.
        new = {
            i: uuid.UUID(bytes=raw_ids[16 * i : 16 * i + 16]) for i in (*record_indexes, c.subject)
        }
        pg_times, json_times = _times(n)
        counselor = c.counselors[(n // caseload) % len(c.counselors)]
        subject_id = new[c.subject]
        dek = DataKey.generate()
        sealed: dict[tuple[int, str], bytes] = {}
        for index, record_type, version, values in c.records:
            for name, blob in seal_fields(
                dek,
                subject_id=subject_id,
                record_id=new[index],
                record_type=record_type,
                version=version,
                values=values,
            ).items():
                sealed[(index, name)] = blob
        first = c.head[0] + (n - 1) * per_copy + 1
        values_of = {
            "u": text_ids,
            "t": pg_times,
            "z": json_times,
            "c": str(counselor),
            "x": ["\\\\x" + sealed[key].hex() for key in c.sealed],
            "w": "\\\\x" + provider.wrap(dek, subject_id).blob.hex(),
            "r": [os.urandom(size).hex() for size in c.randoms],
            "n": _uuids(per_copy),
            "q": [str(first + j) for j in range(per_copy)],
        }
        for table, template in c.tables.items():
            out.tables[table].append(template.format_map(values_of))
        for prefix, canonical in c.events:
            out.events.append(
                (prefix.format_map(values_of), canonical.format_map(values_of).encode("utf-8"))
            )
        if n % sample_every == 0:
            records = [new[i] for i, record_type, _, _ in c.records if record_type != "identity"]
            out.subjects.append((subject_id, counselor, records))
            out.deks[subject_id] = dek.material
    return out


class NodeSink:
    """A ``NodeStore`` over the template's nodes that writes new ones as COPY lines."""

    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        self.nodes = nodes
        self.lines: list[str] = []

    def get(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def put(self, level: int, index: int, node: bytes) -> None:
        if level == 0:
            return  # leaves are the events' own hashes, never stored as nodes
        self.lines.append(f"{level}\t{index}\t\\\\x{node.hex()}\n")


def chain(
    rendered: Rendered, head: tuple[int, bytes], appender: Any, sink: NodeSink
) -> tuple[list[str], tuple[int, bytes]]:
    """Link the rendered events after ``head``; their rows, and the new head."""
    import hashlib

    seq, prev = head
    lines = []
    leaves = []
    for prefix, canonical in rendered.events:
        digest = hashlib.sha256(prev + canonical).digest()
        lines.append(f"{prefix}\\\\x{prev.hex()}\t\\\\x{canonical.hex()}\t\\\\x{digest.hex()}\n")
        leaves.append(digest)
        prev = digest
        seq += 1
    appender.append(leaves)
    return lines, (seq, prev)
