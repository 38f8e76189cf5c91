"""TOTP second factors: enrolment (a new sealed seed) and its confirmation by a code."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from vault.audit.events import AuditEvent, Outcome
from vault.errors import Conflict, InvalidInput, NotFound
from vault.identity import totp
from vault.identity.core import IdentityCore
from vault.identity.epochs import EPOCH_DETAIL
from vault.identity.models import User
from vault.identity.standing import USERS_TABLE
from vault.vocabulary import EventAction, Principal, Role


@dataclass(frozen=True)
class TotpEnrolment:
    secret: str
    provisioning_uri: str

    def __repr__(self) -> str:
        return "TotpEnrolment(<secret hidden>)"


class SecondFactors(IdentityCore):
    def start_totp(self, user_id: uuid.UUID) -> TotpEnrolment:
        """Give the user a new TOTP secret; it takes effect once a code confirms it."""
        secret = totp.new_secret()
        with self.db.session() as session:
            user = self._locked(session, user_id)
            if user is None:
                raise NotFound("No such user.")
            if user.totp_confirmed:
                raise Conflict("A second factor is already enrolled.")
            user.totp_secret = self.sealer.seal(USERS_TABLE, "totp_secret", user.id, secret)
            user.totp_last_step = None
            # Not a new epoch: a second factor not yet confirmed protects nothing, so a row
            # copied back from before it gives no one anything.
            self._seal_authz(user, next_epoch=False)
            session.add(user)
            username = user.username
        return TotpEnrolment(
            secret=secret, provisioning_uri=totp.provisioning_uri(secret, username)
        )

    def confirm_totp(self, user_id: uuid.UUID, code: str) -> None:
        now = self.clock()
        with self.db.read_session() as session:
            user = session.get(User, user_id)
            if user is None or user.totp_secret is None:
                raise Conflict("Start the enrolment first.")
            if user.totp_confirmed:
                raise Conflict("A second factor is already enrolled.")
            step = totp.matching_step(self._totp_seed(user), code, now)
            session.expunge(user)
        if step is None:
            raise InvalidInput("The one-time code does not match.")
        who = Principal(id=user.id, role=Role(user.role), organization=user.organization)
        self.audit.append(
            AuditEvent.by(
                who,
                EventAction.USER_MFA_ENROL,
                Outcome.INFO,
                target_id=user.id,
                details={EPOCH_DETAIL: user.epoch + 1},
            )
        )
        with self.db.session() as session:
            if not self._consume_totp_step(session, user_id, step):
                raise InvalidInput("The one-time code was already used.")
            enrolled = self._locked_at(session, user_id, user.epoch)
            if enrolled is None or enrolled.totp_confirmed:
                raise Conflict("A second factor is already enrolled.")
            enrolled.totp_confirmed = True
            self._seal_authz(enrolled)
            session.add(enrolled)
