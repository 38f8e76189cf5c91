"""Tables of the workbench's per-day counts: what the charts read instead of the log.

Both are a cache of what the audit log says (``vault.workbench.day_counts``):
the cursor is the last sequence number counted for an organisation; a count
row is how many of its events of one UTC day fell under one label. Deleting
them only makes the next look count the log again from the start.
"""

from datetime import date

from sqlalchemy import BigInteger, Column, Date, Index
from sqlmodel import Field, SQLModel


class DayCountCursorRow(SQLModel, table=True):
    """How far the per-day counts of one organisation have read the log."""

    __tablename__ = "workbench_count_cursors"

    organization: str = Field(primary_key=True, max_length=64)
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))


class DayCountRow(SQLModel, table=True):
    """How many of an organisation's events of one day fell under one (kind, label, outcome)."""

    __tablename__ = "workbench_day_counts"
    # One kind over many days (the dashboard's decisions, break-glass per month).
    __table_args__ = (Index("ix_workbench_day_counts_org_kind_day", "organization", "kind", "day"),)

    organization: str = Field(primary_key=True, max_length=64)
    day: date = Field(sa_column=Column(Date, primary_key=True, autoincrement=False))
    # "decision" (every allowed or refused event), "org", "purpose", "role" (record
    # reads by reading organisation, declared purpose, reader's role), "glass"
    # (break-glass grants opened).
    kind: str = Field(primary_key=True, max_length=16)
    label: str = Field(primary_key=True, max_length=64)
    outcome: str = Field(primary_key=True, max_length=16)
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
