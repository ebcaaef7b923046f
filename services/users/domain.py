"""The users service's business rules: registration, authentication, the first admin.

Plain Python: no Flask, no SQL. Storage is the :class:`UserRepository` port and password hashing the
:class:`PasswordHasher` port; ``store.py`` and ``passwords.py`` implement them, unit tests use fakes.

Rules:

* an email is unique regardless of letter case: it is stored lower-cased (at most 254 characters, shaped
  like ``local@domain.tld``);
* a password has 8..128 characters and is only ever kept as a hash;
* a name is stripped and has 1..100 characters;
* a wrong password and an unknown email fail the same way, after the same amount of hashing work;
* a stored hash made with weaker parameters than the current ones is replaced at the next good login.
"""

from __future__ import annotations

import logging
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from services.common.auth import ROLE_ADMIN, ROLE_USER, TOKEN_TTL_SECONDS
from services.common.errors import Conflict, InvalidInput, NotFound, Unauthorized

from .contract import EMAIL_MAX_LENGTH, EMAIL_PATTERN, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH

log = logging.getLogger(__name__)

_EMAIL = re.compile(EMAIL_PATTERN)

DEFAULT_ADMIN_NAME = "Admin"


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str
    role: str
    password_hash: str
    created_at: datetime


@dataclass(frozen=True)
class NewUser:
    """A user to store; the repository assigns ``id`` and ``created_at``."""

    email: str
    name: str
    role: str
    password_hash: str


class EmailTaken(Conflict, code="email_taken"):
    """Another account already has this email (emails compare case-insensitively)."""

    def __init__(self) -> None:
        super().__init__("An account with this email already exists.")


class InvalidCredentials(Unauthorized, code="invalid_credentials"):
    """The email or the password does not match an account; which one is not said."""

    def __init__(self) -> None:
        super().__init__("The email or password is incorrect.")


class UserNotFound(NotFound, code="user_not_found"):
    """No account has this id."""

    def __init__(self) -> None:
        super().__init__("The user does not exist.")


class UserRepository(ABC):
    """Where users are kept."""

    @abstractmethod
    def add(self, new: NewUser) -> User:
        """Store ``new``; raises :class:`EmailTaken` when its (lower-cased) email is already stored."""

    @abstractmethod
    def get(self, user_id: int) -> User | None: ...

    @abstractmethod
    def get_by_email(self, email: str) -> User | None:
        """The user whose stored email equals ``email`` (already normalised)."""

    @abstractmethod
    def set_role(self, user_id: int, role: str) -> User: ...

    @abstractmethod
    def set_password_hash(self, user_id: int, password_hash: str) -> None: ...


class PasswordHasher(ABC):
    """One-way password hashing."""

    @abstractmethod
    def hash(self, password: str) -> str: ...

    @abstractmethod
    def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False for a mismatch or a hash that cannot be read."""

    @abstractmethod
    def needs_rehash(self, password_hash: str) -> bool:
        """True when ``password_hash`` was made with other parameters than :meth:`hash` uses now."""


def normalize_email(email: str) -> str:
    return email.lower()


def validate_registration(email: str, password: str, name: str) -> tuple[str, str]:
    """The normalised (email, name); :class:`InvalidInput` listing every broken rule otherwise."""
    problems: list[dict[str, str]] = []
    email = normalize_email(email)
    if len(email) > EMAIL_MAX_LENGTH:
        problems.append({"field": "email", "message": f"must have at most {EMAIL_MAX_LENGTH} characters"})
    elif not _EMAIL.match(email):
        problems.append({"field": "email", "message": "must be an email address"})
    if not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        problems.append(
            {"field": "password", "message": f"must have {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters"}
        )
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        problems.append({"field": "name", "message": f"must have 1 to {NAME_MAX_LENGTH} non-blank characters"})
    if problems:
        raise InvalidInput("The user data is invalid.", details=problems)
    return email, name


@dataclass(frozen=True)
class AdminResult:
    user: User
    action: str  # created, promoted or unchanged


class AdminRefused(Conflict, code="admin_email_taken"):
    """The admin email belongs to an ordinary account whose password does not match."""


class UserEvents(ABC):
    """Told about registrations and login attempts: the port :class:`services.users.metrics.UserMetrics`
    implements."""

    @abstractmethod
    def registered(self) -> None: ...

    @abstractmethod
    def login(self, succeeded: bool) -> None: ...


class NoEvents(UserEvents):
    def registered(self) -> None:
        pass

    def login(self, succeeded: bool) -> None:
        pass


#: Signs an access token for a user id and role: ``services.common.auth.issue_token`` with the service's secret.
TokenSigner = Callable[[int, str], str]


@dataclass(frozen=True)
class AccessToken:
    """A signed access token and how long it is valid."""

    token: str
    expires_in_seconds: int


class UserService:
    """The use cases of the users service."""

    def __init__(
        self, users: UserRepository, hasher: PasswordHasher, sign: TokenSigner, events: UserEvents | None = None
    ) -> None:
        self._users = users
        self._hasher = hasher
        self._sign = sign
        self._events = events or NoEvents()

    @cached_property
    def _dummy_hash(self) -> str:
        """Verified against when the email is unknown, so that case costs what a wrong password costs."""
        return self._hasher.hash(secrets.token_urlsafe(16))

    def warm_up(self) -> None:
        """Make the dummy hash now (a service calls this at start), so no login pays for it."""
        _ = self._dummy_hash

    def register(self, email: str, password: str, name: str) -> User:
        email, name = validate_registration(email, password, name)
        user = self._users.add(NewUser(email, name, ROLE_USER, self._hasher.hash(password)))
        self._events.registered()
        log.info("user registered", extra={"event": "user.registered", "user_id": user.id})
        return user

    def authenticate(self, email: str, password: str) -> User:
        """The user owning ``email`` and ``password``; :class:`InvalidCredentials` for anything else."""
        user = self._users.get_by_email(normalize_email(email))
        if user is None:
            self._hasher.verify(self._dummy_hash, password)
            self._events.login(succeeded=False)
            log.info("login failed", extra={"event": "user.login_failed", "reason": "unknown_email"})
            raise InvalidCredentials()
        if not self._hasher.verify(user.password_hash, password):
            self._events.login(succeeded=False)
            log.info(
                "login failed", extra={"event": "user.login_failed", "reason": "wrong_password", "user_id": user.id}
            )
            raise InvalidCredentials()
        if self._hasher.needs_rehash(user.password_hash):
            self._users.set_password_hash(user.id, self._hasher.hash(password))
            log.info("password rehashed", extra={"event": "user.password_rehashed", "user_id": user.id})
        self._events.login(succeeded=True)
        log.info("user logged in", extra={"event": "user.logged_in", "user_id": user.id})
        return user

    def issue_token(self, email: str, password: str) -> AccessToken:
        """An access token for the user owning ``email`` and ``password`` (:meth:`authenticate`)."""
        user = self.authenticate(email, password)
        return AccessToken(self._sign(user.id, user.role), TOKEN_TTL_SECONDS)

    def get(self, user_id: int) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise UserNotFound()
        return user

    def ensure_admin(
        self, email: str, password: str, name: str = DEFAULT_ADMIN_NAME, *, verify: bool = False
    ) -> AdminResult:
        """Make sure ``email`` is an admin: create the account, or promote the existing one. Idempotent.

        An existing admin is left as it is (its password is not changed). With ``verify``, an existing
        ordinary account is promoted only when ``password`` is its password: an automatic start-up
        bootstrap must not hand the admin role to whoever registered that email first.
        """
        email, name = validate_registration(email, password, name)
        existing = self._users.get_by_email(email)
        if existing is None:
            try:
                user = self._users.add(NewUser(email, name, ROLE_ADMIN, self._hasher.hash(password)))
            except EmailTaken:  # created concurrently (another worker starting, a registration)
                existing = self._users.get_by_email(email)
                if existing is None:
                    raise
            else:
                log.info("admin created", extra={"event": "user.admin_created", "user_id": user.id})
                return AdminResult(user, "created")
        if existing.role == ROLE_ADMIN:
            return AdminResult(existing, "unchanged")
        if verify and not self._hasher.verify(existing.password_hash, password):
            log.warning(
                "admin bootstrap refused: the email belongs to an ordinary account with another password",
                extra={"event": "user.admin_refused", "user_id": existing.id},
            )
            raise AdminRefused(
                "The admin email belongs to an ordinary account with another password; "
                "promote it explicitly with python -m services.users.admin."
            )
        user = self._users.set_role(existing.id, ROLE_ADMIN)
        log.info("user promoted to admin", extra={"event": "user.promoted", "user_id": user.id})
        return AdminResult(user, "promoted")
