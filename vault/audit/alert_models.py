"""Tables of the alerts: each organisation's fold cursor and the alerts it raised.

Both are a cache of what the audit log says (``vault.audit.alert_store``): the
cursor is the last sequence number the rules have seen, with the rules' memory
as JSON; an alert row is what they raised. Deleting either only makes the next
look compute them again from the log; acknowledgements live in the log itself.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, Text
from sqlmodel import Field, SQLModel

from vault.stamps import utc_field


class AlertCursorRow(SQLModel, table=True):
    """How far the alert rules have read the log for one organisation."""

    __tablename__ = "alert_cursors"

    organization: str = Field(primary_key=True, max_length=64)
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The thresholds the fold ran with (AlertRules.fingerprint): others start over.
    rules: str = Field(max_length=32)
    # When the fold started (it reads the log from the rules' window before then).
    started_at: datetime = utc_field()
    state: str = Field(sa_column=Column(Text, nullable=False))


class AlertRow(SQLModel, table=True):
    """One alert of one organisation, as the rules last raised it."""

    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_organization_first_seq", "organization", "first_seq"),
        # How many alerts the window holds, and how many are open, without reading them.
        Index("ix_alerts_organization_at", "organization", "at", "acknowledged"),
    )

    organization: str = Field(primary_key=True, max_length=64)
    alert_id: str = Field(primary_key=True, max_length=24)
    rule: str = Field(max_length=32)
    actor_id: str | None = Field(default=None, max_length=36)
    subject_id: str | None = Field(default=None, max_length=36)
    time: str = Field(max_length=40)
    at: datetime = utc_field()
    count: int = Field(default=1)
    first_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    seqs: str = Field(sa_column=Column(Text, nullable=False))
    acknowledged: bool = Field(default=False)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
