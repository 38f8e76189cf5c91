"""The handover tables: trusted partners, bundles sent and received, provenance, notices."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field

from vault.stamps import Stamped, UtcDateTime


class HandoverPartner(Stamped, table=True):
    """Another vault this one trusts: its organisation and its published public keys."""

    __tablename__ = "handover_partners"

    organization: str = Field(max_length=64, unique=True, index=True)
    # The partner's JWKS (GET /v1/keys/jwks) and X25519 key (GET /v1/keys/handover), as JSON.
    signing_jwks: str = Field(sa_column=Column(Text, nullable=False))
    encryption_jwk: str = Field(sa_column=Column(Text, nullable=False))
    # The partner's audit log verifier keys (vkeys), a JSON list; empty: none configured.
    log_keys: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    # The organisation and the three key sets sealed to this row (vault.handover.partners):
    # a partner whose keys were changed in the database is refused, never used.
    trust_seal: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class HandoverSenderHead(Stamped, table=True):
    """A signed tree head of a sender's audit log that a bundle showed this vault.

    Kept so that a later bundle whose head has the same size and another root
    (the sender's log forked: it showed two histories) is refused.
    """

    __tablename__ = "handover_sender_heads"
    __table_args__ = (UniqueConstraint("sender", "size"),)

    sender: str = Field(max_length=64, index=True)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    root: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class HandoverExport(Stamped, table=True):
    """A bundle this vault sent: what a withdrawal notice is later issued for."""

    __tablename__ = "handover_exports"

    bundle_id: uuid.UUID = Field(unique=True, index=True)
    subject_id: uuid.UUID = Field(index=True)
    consent_id: uuid.UUID = Field(index=True)
    sender: str = Field(max_length=64)
    recipient: str = Field(max_length=64)
    exported_at: datetime = Field(sa_type=UtcDateTime)


class HandoverImport(Stamped, table=True):
    """A bundle this vault accepted (its id refuses any replay) and the subject it made."""

    __tablename__ = "handover_imports"

    bundle_id: uuid.UUID = Field(unique=True, index=True)
    sender: str = Field(max_length=64)
    consent_id: uuid.UUID = Field(index=True)
    subject_id: uuid.UUID = Field(index=True)
    imported_at: datetime = Field(sa_type=UtcDateTime)
    # When the sender's consent ends by itself (its receipt's expiry): reads stop then too.
    consent_expires_at: datetime = Field(sa_type=UtcDateTime)


class HandoverProvenance(Stamped, table=True):
    """Where an imported record came from: one row per record written by an import."""

    __tablename__ = "handover_provenance"

    record_id: uuid.UUID = Field(unique=True, index=True)
    subject_id: uuid.UUID = Field(index=True)
    sender: str = Field(max_length=64)
    bundle_id: uuid.UUID = Field(index=True)
    consent_id: uuid.UUID = Field(index=True)


class HandoverWithdrawal(Stamped, table=True):
    """A verified withdrawal notice received from a sender: reads under it stop."""

    __tablename__ = "handover_withdrawals"

    consent_id: uuid.UUID = Field(unique=True, index=True)
    sender: str = Field(max_length=64)
    withdrawn_at: datetime = Field(sa_type=UtcDateTime)


class HandoverNoticeSent(Stamped, table=True):
    """A withdrawal notice this vault signed for a recipient, kept for it to poll.

    ``seq`` is the sequence number of the notice's audit event: the cursor a
    recipient polls after (``GET /v1/handover/notices?after=``)."""

    __tablename__ = "handover_notices_sent"

    notice_id: uuid.UUID = Field(unique=True, index=True)
    seq: int = Field(sa_column=Column(BigInteger, unique=True, index=True, nullable=False))
    recipient: str = Field(max_length=64, index=True)
    consent_id: uuid.UUID = Field(index=True)
    subject_id: uuid.UUID = Field(index=True)
    token: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(sa_type=UtcDateTime)
