"""Tables of the audit log: the hash-chained events and the signed checkpoints.

The chain is over ``canonical`` (the exact bytes that were hashed), not over the
other columns: those are copies kept only so queries can filter on an index.
Verification never re-encodes an event; it hashes the stored bytes.
"""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, SmallInteger, Text, text
from sqlmodel import Field, SQLModel

from vault.stamps import Stamped, utc_field

# The conditions of the two partial indexes, written the same in the index and in the
# walk's query: a database uses a partial index only for a query that repeats its
# condition (a bound parameter in its place does not count).
DENIED = "outcome = 'deny'"
BREAK_GLASS_ONLY = {"sqlite": "break_glass = 1", "postgresql": "break_glass = true"}


class AuditRow(Stamped, table=True):
    """One event of the chain: ``hash = SHA-256(prev_hash || canonical)``."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_seq", "subject_id", "seq"),
        # A subject's consent events, read on every decision (consent.attestation):
        # without it the lookup scans all of the subject's events, one per read.
        Index("ix_audit_events_subject_action_seq", "subject_id", "action", "seq"),
        # A user's reads of the last minute, counted on every read (records.ratelimit).
        Index("ix_audit_events_actor_action_time", "actor_id", "action", "time"),
        Index("ix_audit_events_actor_seq", "actor_id", "seq"),
        Index("ix_audit_events_time", "time"),
        # A compliance officer's view: the events of one organisation's staff.
        Index("ix_audit_events_actor_org_seq", "actor_org", "seq"),
        # The newest events of one kind (the dashboard's last verification, its filter by
        # action, the consent check's withdrawals): without it each scans the whole log.
        Index("ix_audit_events_action_seq", "action", "seq"),
        # Refusals and break-glass reads are rare: the dashboard's filter on either alone
        # walks these (only their rows, so appending an allowed read costs nothing more)
        # instead of the whole log back to its start (vault.audit.walk).
        Index(
            "ix_audit_events_denied_seq",
            "seq",
            sqlite_where=text(DENIED),
            postgresql_where=text(DENIED),
        ),
        Index(
            "ix_audit_events_break_glass_seq",
            "seq",
            sqlite_where=text(BREAK_GLASS_ONLY["sqlite"]),
            postgresql_where=text(BREAK_GLASS_ONLY["postgresql"]),
        ),
    )

    # Gapless, starting at 1; unique so that two writers can never share one.
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    time: datetime = utc_field()
    action: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    actor_id: uuid.UUID | None = Field(default=None)
    # The organisation of the actor when it acted (a copy of the content's ``actor_org``).
    actor_org: str | None = Field(default=None, max_length=64)
    subject_id: uuid.UUID | None = Field(default=None)
    break_glass: bool = Field(default=False)
    prev_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    canonical: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditCheckpointRow(Stamped, table=True):
    """A signature over (seq, head hash, time): pins the chain up to ``seq``."""

    __tablename__ = "audit_checkpoints"

    seq: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    head_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    time: datetime = utc_field()
    key_id: str = Field(max_length=128)
    # Over the bytes ``vault.audit.checkpoints.Checkpoint.signed_bytes()`` rebuilds.
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditNodeRow(SQLModel, table=True):
    """One complete subtree of the transparency tree over the events (RFC 9162).

    Node (level, idx) covers leaves ``idx * 2**level`` up to ``(idx + 1) * 2**level``;
    leaf ``i`` is the chain hash of event ``seq = i + 1``. Written in the same
    transaction as the batch of events that completes it; never changed after.
    """

    __tablename__ = "audit_nodes"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditHeadRow(Stamped, table=True):
    """A signed tree head: a C2SP checkpoint note naming the head signed before it."""

    __tablename__ = "audit_heads"

    size: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    time: datetime = utc_field()
    key_id: str = Field(max_length=128)
    # The signed note (checkpoint text, a blank line, signature lines, cosignatures).
    note: str = Field(sa_column=Column(Text, nullable=False))
    # When a verification last walked the events up to this head and found them
    # intact: the next verification starts here (``vault.audit.incremental``).
    verified_at: datetime | None = utc_field(default=None, nullable=True)


class AuditHaltRow(Stamped, table=True):
    """The vault refused to sign a head: audited work stops until an operator acts."""

    __tablename__ = "audit_halts"

    time: datetime = utc_field()
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    problem: str = Field(max_length=256)
    resolved: bool = Field(default=False)


# The tables as SQLAlchemy Core sees them: the writer, the queries and verification.
EVENTS = AuditRow.metadata.tables[AuditRow.__tablename__]
CHECKPOINTS = AuditCheckpointRow.metadata.tables[AuditCheckpointRow.__tablename__]
NODES = AuditNodeRow.metadata.tables[AuditNodeRow.__tablename__]
HEADS = AuditHeadRow.metadata.tables[AuditHeadRow.__tablename__]
HALTS = AuditHaltRow.metadata.tables[AuditHaltRow.__tablename__]
