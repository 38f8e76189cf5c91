"""Activation: the holder of an account made over the API makes it theirs.

The admin who creates an account types its first password; a second person
approves it. Were the account usable then, the admin would hold a working
account of a role that reads content, approval or not. So approval hands the
approver a one-time activation code (shown once; only its SHA-256 is kept), and
the account logs in only after its holder gives the first password *and* the
code, choosing a new password: the creator alone lacks the code, the approver
alone lacks the first password, and neither learns the password chosen.
Attempts count against the failed-login limits like logins.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from vault.audit.events import AuditEvent, Outcome
from vault.errors import AuthenticationFailed, InvalidInput
from vault.identity.core import UserView, client_address, normalise_username
from vault.identity.epochs import EPOCH_DETAIL
from vault.identity.logins import Logins
from vault.identity.passwords import check_password
from vault.identity.standing import AccountStatus, status_of
from vault.vocabulary import EventAction, Principal, Role

CODE_BYTES = 10  # 80 bits, 16 base32 characters
ACTIVATION_FAILED = "Invalid username, first password or activation code."


@dataclass(frozen=True)
class ApprovedAccount:
    """An approved account and the activation code for its holder (shown once)."""

    user: UserView
    activation_code: str

    def __repr__(self) -> str:  # the code is a credential
        return f"ApprovedAccount(user={self.user.username!r}, activation_code=<hidden>)"


def new_activation_code() -> str:
    """A code to read out or write down: 16 base32 letters and digits in groups of four."""
    text = base64.b32encode(secrets.token_bytes(CODE_BYTES)).decode("ascii")
    return "-".join(text[i : i + 4] for i in range(0, len(text), 4))


def activation_digest(code: str) -> str:
    """The SHA-256 the account keeps of its code (dashes, spaces and case do not matter)."""
    canonical = code.replace("-", "").replace(" ", "").upper()
    return hashlib.sha256(canonical.encode("ascii", "replace")).hexdigest()


class Activation(Logins):
    def activate(self, username: str, password: str, code: str, new_password: str) -> UserView:
        """Activate an approved account with its first password and the approver's code,
        setting the holder's own password; one message for every kind of failure."""
        name = normalise_username(username)[:128]
        now = self.clock()
        attempt = self._take_place(name, client_address(), now)
        with self.db.read_session() as session:
            user = self._user_by_name(session, name)
            intact = user is not None and self._authz_intact(user, session)
        if user is None:
            self.hasher.verify_dummy(password)
            raise AuthenticationFailed(ACTIVATION_FAILED)
        status = status_of(user.approved_at, user.disabled_at, user.activation_digest)
        password_ok = self.hasher.verify(user.password_hash, password)
        code_ok = user.activation_digest is not None and hmac.compare_digest(
            activation_digest(code), user.activation_digest
        )
        if not (password_ok and code_ok and intact and status is AccountStatus.AWAITING_ACTIVATION):
            self._fail(user, "activation")
        check_password(new_password)
        if hmac.compare_digest(new_password.encode(), password.encode()):
            raise InvalidInput("new_password: choose a password other than the first one.")
        new_hash = self.hasher.hash(new_password)
        who = Principal(id=user.id, role=Role(user.role), organization=user.organization)
        self.audit.append(
            AuditEvent.by(
                who,
                EventAction.USER_ACTIVATE,
                Outcome.INFO,
                target_id=user.id,
                details={EPOCH_DETAIL: user.epoch + 1},
            )
        )
        with self.db.session() as session:
            row = self._locked_at(session, user.id, user.epoch)
            if row is None or row.activation_digest != user.activation_digest:
                raise AuthenticationFailed(ACTIVATION_FAILED)
            row.password_hash = new_hash
            row.activation_digest = None
            self._seal_authz(row)
            session.add(row)
            self._release_place(session, name, attempt)
        return UserView.of(row)
