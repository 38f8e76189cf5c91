"""A bearer token checked inside the snapshot of the record read it comes with.

Every other route checks its token in the authentication middleware: a worker
thread, a connection and a snapshot of its own before the handler runs. On the
record read, the hot path, that check cost about a third of the server's CPU
per read on PostgreSQL (measured with the check skipped altogether: 2.19 ms of
CPU per read against 1.45 ms, 83 context switches against 44). So that route
hands its token to the read, which sends the token's two statements with its
own, in one string and one snapshot.

A read's other statements name the caller (its assignment, its read count), so
they need the caller before the token's answer is in. Each process remembers
whom a token was last seen for (``TokenUsers``: a digest and a user, never a
verdict), plans the read for that user, and the token's rows in the same
snapshot must confirm exactly that user: the token valid, unexpired, not
revoked, the account allowed to act, the same id, role and organisation. If
they do not, the plan is dropped unused (no event, nothing decrypted) and the
token is checked on its own, as on any route; so a revocation or a disabled
account still takes effect on the very next request, in every process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol

from vault.cursor_reads import Ahead, CursorReads
from vault.errors import AuthenticationFailed
from vault.vocabulary import AuthenticatedUser, Principal


class TokenUsers:
    """Whom each recently used token belonged to, in this process: a guess, never a verdict."""

    # Enough for every token in use on a large site; the oldest is forgotten first.
    LIMIT = 4096

    def __init__(self, limit: int = LIMIT) -> None:
        self._limit = limit
        self._users: dict[str, AuthenticatedUser] = {}
        self._lock = threading.Lock()

    def get(self, digest: str) -> AuthenticatedUser | None:
        return self._users.get(digest)  # one dict lookup: atomic, no lock needed

    def remember(self, digest: str, user: AuthenticatedUser) -> None:
        with self._lock:
            self._users.pop(digest, None)
            while len(self._users) >= self._limit:
                del self._users[next(iter(self._users))]  # the oldest (insertion order)
            self._users[digest] = user

    def forget(self, digest: str) -> None:
        with self._lock:
            self._users.pop(digest, None)

    def __len__(self) -> int:
        return len(self._users)


class _TokenJudge(Protocol):
    """What a check needs of the logins (``vault.identity.logins.Logins``)."""

    token_users: TokenUsers

    def token_ahead(self, digest: str) -> list[Ahead]: ...

    def token_user(
        self, reads: CursorReads, digest: str
    ) -> AuthenticatedUser | AuthenticationFailed: ...

    def authenticate_digest(self, digest: str) -> AuthenticatedUser: ...


@dataclass(frozen=True)
class BearerCheck:
    """One request's bearer token, to be checked by the read it asks for
    (``vault.records.ports.CallerCheck``)."""

    judge: _TokenJudge
    digest: str

    def __repr__(self) -> str:  # the digest identifies a credential: never in a log
        return "BearerCheck(...)"

    def guess(self) -> Principal | None:
        """The principal this token was last seen for in this process, if any."""
        user = self.judge.token_users.get(self.digest)
        return user.principal() if user is not None else None

    def ahead(self) -> list[Ahead]:
        """The token's statements, to send with the read's own."""
        return self.judge.token_ahead(self.digest)

    def confirms(self, reads: CursorReads, guessed: Principal) -> bool:
        """Whether the token stands, in this snapshot, for exactly ``guessed``.

        Nothing raises in here (an exception would cost the reader its
        connection). ``token_user`` keeps ``TokenUsers`` right itself: a token
        that does not stand is forgotten, one that stands is remembered for
        whom it really is.
        """
        found = self.judge.token_user(reads, self.digest)
        return isinstance(found, AuthenticatedUser) and found.principal() == guessed

    def authenticate(self) -> Principal:
        """The token checked on its own snapshot; ``AuthenticationFailed`` if it does not stand."""
        return self.judge.authenticate_digest(self.digest).principal()
