"""Staff accounts: create, approve, disable, look up, and the two-person rule.

Every operation an authenticated person asks is decided by the policy engine
(``authorize`` with ``OperationFacts``; rules in ``policies/identity.cedar``).
An account of another organisation answers exactly like a missing one.

An account made over the API is *pending*: it cannot log in, and no token or
browser session of it is accepted, until a second person of the same
organisation approves it (a compliance officer for staff, another admin for an
admin), who is neither its creator nor an account its creator made. Accounts
made on the host with the command line are active at once: that is how each
organisation gets its first admin and compliance officer.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col

from vault.audit.events import AuditEvent, Outcome
from vault.errors import Conflict, Forbidden, InvalidInput, NotFound
from vault.identity.activation import ApprovedAccount, activation_digest, new_activation_code
from vault.identity.core import USERNAME_PATTERN, IdentityCore, UserView, normalise_username, via
from vault.identity.epochs import EPOCH_DETAIL
from vault.identity.models import AuthToken, User
from vault.identity.passwords import check_password
from vault.identity.session_models import WebSession
from vault.identity.standing import AccountStatus, sealed_as_stored, status_of
from vault.vocabulary import Action, AuthenticatedUser, EventAction, OperationFacts, Role

NO_SUCH_USER = "No such user."
NO_SUCH_ORGANIZATION = "Unknown organisation."
# Refusals written to the audit log (looking accounts up is not audited).
AUDITED = {
    Action.CREATE_USER: EventAction.USER_CREATE,
    Action.APPROVE_USER: EventAction.USER_APPROVE,
    Action.DISABLE_USER: EventAction.USER_DISABLE,
}


class Accounts(IdentityCore):
    def _gate(
        self,
        actor: AuthenticatedUser,
        action: Action,
        facts: OperationFacts,
        *,
        target_id: uuid.UUID | None = None,
        missing: str = NO_SUCH_USER,
        on_self: str | None = None,
    ) -> None:
        """Ask the policies; a refusal is audited under the actor's name and answers 404
        when the target is another organisation's (or none), like a missing one."""
        decision = self._engine().authorize(actor.principal(), action, facts)
        if decision.allowed:
            return
        event = AUDITED.get(action)
        if event is not None:
            reason = ",".join(decision.policy_ids) or decision.reason
            self.audit.append(
                AuditEvent.by(actor, event, Outcome.DENY, target_id=target_id, reason=reason)
            )
        if facts.target_org != actor.organization:
            raise NotFound(missing)
        if on_self is not None and facts.on_self:
            raise Conflict(on_self)
        raise Forbidden("Your account may not do this to that account.")

    def _facts(self, actor: AuthenticatedUser, target: User | None) -> OperationFacts:
        if target is None:
            return OperationFacts()
        return OperationFacts(
            target_org=target.organization,
            on_self=target.id == actor.id,
            created_by_principal=not self.distinct_people(actor.id, target.id),
            target_role=target.role,
        )

    def _load(self, user_id: uuid.UUID) -> User | None:
        with self.db.read_session() as session:
            found = session.get(User, user_id)
            if found is not None:
                session.expunge(found)
            return found

    # -- create -------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        role: str,
        organization: str,
        actor: AuthenticatedUser | None = None,
    ) -> UserView:
        """Create an account; ``actor`` is the admin doing it (None: the host's command line).

        Made over the API it is pending until approved (``approve_user``); made on
        the host it is active at once.
        """
        if actor is not None:
            facts = OperationFacts(target_org=organization, target_role=role)
            self._gate(actor, Action.CREATE_USER, facts, missing=NO_SUCH_ORGANIZATION)
        username = normalise_username(username)
        if not USERNAME_PATTERN.match(username):
            raise InvalidInput(
                "A username is 3-64 characters: lower-case letters, digits, '.', '_' or '-'."
            )
        if role not in {r.value for r in Role}:
            raise InvalidInput(f"role must be one of: {', '.join(r.value for r in Role)}.")
        check_password(password)
        with self.db.read_session() as session:
            if self._organization(session, organization) is None:
                raise NotFound(NO_SUCH_ORGANIZATION)
            if self._user_by_name(session, username) is not None:
                raise Conflict(f"The username {username!r} is taken.")
        password_hash = self.hasher.hash(password)
        user = User(
            username=username,
            password_hash=password_hash,
            role=role,
            organization=organization,
            created_by=actor.id if actor else None,
            approved_at=None if actor else self.clock(),
        )
        self._seal_authz(user)
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.USER_CREATE,
                Outcome.INFO,
                target_id=user.id,
                details={
                    "role": role,
                    "organization": organization,
                    "via": via(actor),
                    "status": status_of(user.approved_at, None).value,
                    EPOCH_DETAIL: user.epoch,
                },
            )
        )
        try:
            with self.db.session() as session:
                session.add(user)
        except IntegrityError:
            raise Conflict(f"The username {username!r} is taken.") from None
        return UserView.of(user)

    # -- approve ------------------------------------------------------------------

    def approve_user(self, user_id: uuid.UUID, actor: AuthenticatedUser) -> ApprovedAccount:
        """A second person approves a pending account; its holder then activates it with the
        first password and the code returned here (vault.identity.activation)."""
        target = self._load(user_id)
        facts = self._facts(actor, target)
        self._gate(actor, Action.APPROVE_USER, facts, target_id=target.id if target else None)
        if target is None:  # no policy permits anything about no account
            raise NotFound(NO_SUCH_USER)
        if status_of(target.approved_at, target.disabled_at) is not AccountStatus.PENDING:
            raise Conflict("The account is not waiting for approval.")
        if not sealed_as_stored(self.sealer, target):
            # Sealing it afresh at approval would make a row written by hand genuine.
            raise Conflict("The account was changed outside the vault; it cannot be approved.")
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.USER_APPROVE,
                Outcome.ALLOW,
                target_id=target.id,
                details={
                    "role": target.role,
                    "created_by": str(target.created_by) if target.created_by else "host",
                    "approved_by": str(actor.id),
                    EPOCH_DETAIL: target.epoch + 1,
                },
            )
        )
        now = self.clock()
        with self.db.session() as session:
            user = self._locked_at(session, user_id, target.epoch)
            if user is None or user.approved_at is not None or user.disabled_at is not None:
                raise Conflict("The account is not waiting for approval.")
            if not sealed_as_stored(self.sealer, user):
                raise Conflict("The account was changed outside the vault; it cannot be approved.")
            user.approved_at = now
            user.approved_by = actor.id
            code = new_activation_code()
            user.activation_digest = activation_digest(code)
            self._seal_authz(user)
            session.add(user)
        return ApprovedAccount(UserView.of(user), code)

    # -- disable ------------------------------------------------------------------

    def disable_user(self, user_id: uuid.UUID, actor: AuthenticatedUser | None = None) -> UserView:
        """Disable an account; every token and browser session it holds ends at once."""
        target = self._load(user_id)
        if actor is not None:
            facts = self._facts(actor, target)
            self._gate(
                actor,
                Action.DISABLE_USER,
                facts,
                target_id=target.id if target else None,
                on_self="Nobody can disable their own account.",
            )
        if target is None:
            raise NotFound(NO_SUCH_USER)
        self.audit.append(
            AuditEvent.by(
                actor,
                EventAction.USER_DISABLE,
                Outcome.INFO,
                target_id=user_id,
                details={"via": via(actor), "role": target.role, EPOCH_DETAIL: target.epoch + 1},
            )
        )
        now = self.clock()
        with self.db.session() as session:
            user = self._locked_at(session, user_id, target.epoch)
            if user is None:
                # Changed since it was read: the audit log now names a newer epoch than the
                # row, so the account is refused until it is disabled again.
                raise Conflict("The account changed meanwhile; disable it again.")
            if user.disabled_at is None:
                user.disabled_at = now
                self._seal_authz(user)
            session.add(user)
            session.execute(
                update(AuthToken)
                .where(col(AuthToken.user_id) == user_id)
                .where(col(AuthToken.revoked_at).is_(None))
                .values(revoked_at=now)
            )
            session.execute(
                update(WebSession)
                .where(col(WebSession.user_id) == user_id)
                .where(col(WebSession.ended_at).is_(None))
                .values(ended_at=now, binding_seal=None)  # ended for good (vault.web.sessions)
            )
            return UserView.of(user)

    # -- look up ------------------------------------------------------------------

    def user(self, user_id: uuid.UUID, actor: AuthenticatedUser | None = None) -> UserView:
        """One account; asked by ``actor``, only one of their own organisation."""
        target = self._load(user_id)
        if actor is not None:
            self._gate(actor, Action.VIEW_USERS, self._facts(actor, target))
        if target is None:
            raise NotFound(NO_SUCH_USER)
        return UserView.of(target)

    def users(
        self, actor: AuthenticatedUser, status: AccountStatus | None = None
    ) -> list[UserView]:
        """The accounts of the actor's organisation (those with ``status``, if given)."""
        self._gate(actor, Action.VIEW_USERS, OperationFacts(target_org=actor.organization))
        with self.db.read_session() as session:
            found = [
                UserView.of(user)
                for user in session.execute(
                    select(User)
                    .where(col(User.organization) == actor.organization)
                    .order_by(col(User.username))
                ).scalars()
            ]
        return [view for view in found if status is None or view.status is status]

    def user_by_name(self, username: str) -> UserView:
        with self.db.read_session() as session:
            found = self._user_by_name(session, normalise_username(username))
            if found is None:
                raise NotFound(NO_SUCH_USER)
            return UserView.of(found)

    def distinct_people(self, first: uuid.UUID, second: uuid.UUID) -> bool:
        """Whether two accounts stand for two people (the two-person rule).

        Not the same account, neither created the other, and not both made by the
        same account: an account an administrator made is that administrator's
        second hand, and so is any other account the same administrator made.
        Who made each is read from its row only if the account's seal still holds
        it (``created_by`` is sealed): a creator rewritten in the database makes
        nobody a second person.
        """
        if first == second:
            return False
        with self.db.read_session() as session:
            rows = session.execute(select(User).where(col(User.id).in_([first, second]))).scalars()
            creators: dict[uuid.UUID, uuid.UUID | None] = {}
            for row in rows:
                if not sealed_as_stored(self.sealer, row):
                    return False  # changed outside the vault: nobody's second person
                creators[row.id] = row.created_by
        if len(creators) != 2:
            return False  # an unknown account is nobody's second person
        if creators[first] == second or creators[second] == first:
            return False
        return creators[first] is None or creators[first] != creators[second]
