"""The table of browser sessions (kiosk and dashboard).

A session is a 256-bit random cookie value; the database holds only its
SHA-256, so a copy of the table lets nobody act as a tablet or an officer.
A kiosk session is bound to exactly one subject for its whole life.
"""

import uuid
from datetime import datetime

from sqlmodel import Field

from vault.stamps import Stamped, utc_field


class WebSession(Stamped, table=True):
    __tablename__ = "web_sessions"

    token_hash: str = Field(unique=True, max_length=64)
    # "staff" (a logged-in officer or counselor before handing over the tablet),
    # "kiosk" (the tablet, bound to one subject) or "dashboard" (a compliance officer).
    kind: str = Field(max_length=16)
    # The staff member: the witness of a kiosk session, the officer of a dashboard one.
    user_id: uuid.UUID = Field(index=True)
    username: str = Field(max_length=64)
    role: str = Field(max_length=32)
    organization: str = Field(max_length=64)
    subject_id: uuid.UUID | None = Field(default=None, index=True)
    # Sent back in every form and compared with hmac.compare_digest.
    csrf_token: str = Field(max_length=64)
    language: str = Field(default="id", max_length=8)
    # Choices made so far in a signing flow (JSON): never a PIN, never a name.
    flow: str = Field(default="{}", max_length=4000)
    last_seen_at: datetime = utc_field()
    ended_at: datetime | None = utc_field(default=None, nullable=True)
    # Kind, staff member, role, organisation, subject, times, language and flow sealed to
    # this row: a session re-pointed in the database (another subject, a higher role,
    # other choices in its signing flow) no longer resolves.
    binding_seal: str | None = Field(default=None, max_length=800)
