"""Identity: user JWTs at the edge, internal tokens between the services.

The users service issues HS256 JWTs (``sub`` = user id, ``role`` = user|admin, ``exp``, ``iat``, ``iss``),
signed with ``JWT_SECRET``. The gateway verifies them and forwards the caller's identity to the services it calls
as an *internal token* (:class:`InternalTokens`): a short-lived HS256 JWT signed with its own key,
``INTERNAL_TOKEN_KEY``, for the audience ``tienda-internal``, sent as ``Authorization: Bearer``:

``iss``   the service that sends the request (``gateway``, ``orders``, ``audit``, ...);
``sub``   ``user:<id>`` when it acts for a user, else the sending service's own name;
``role``  the user's role (``user`` or ``admin``), or ``service``;
``aud``   ``tienda-internal``; ``iat`` and ``exp`` (:data:`INTERNAL_TOKEN_TTL_SECONDS` later).

A user token is never accepted inside (another key, no audience) and an internal one never at the gateway.
Every service keeps its own token and each user's for half their life, so a hop costs one verification on
the receiving side (``bench/internal_auth.py``). Who may call which endpoint is :mod:`services.common.access`.
Identity headers (``X-User-Id`` / ``X-User-Role``) are not read anywhere any more.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

import jwt

from .contract import MAX_ID
from .errors import Forbidden, Unauthorized

ISSUER = "tienda"
ALGORITHM = "HS256"
TOKEN_TTL_SECONDS = 3600
AUTHORIZATION_HEADER = "Authorization"
#: What a user is: a customer, or an admin, who also manages the catalog and may read anyone's orders.
Role = Literal["user", "admin"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)
ROLE_USER, ROLE_ADMIN = ROLES

_SERVICE_NAME = re.compile(r"[a-z][a-z0-9-]{0,31}")

INTERNAL_AUDIENCE = "tienda-internal"
INTERNAL_TOKEN_TTL_SECONDS = 60
#: Clock difference between hosts tolerated on ``exp`` and ``iat``.
INTERNAL_LEEWAY_SECONDS = 5
SERVICE_ROLE = "service"
USER_SUBJECT = "user:"
#: Users whose tokens a service keeps at once; past it the cache starts again (one mint per user then).
MAX_CACHED_USERS = 4096


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == ROLE_ADMIN


@dataclass(frozen=True)
class Caller:
    """Who sent an internal request: ``service`` (the token's issuer), acting for ``user`` or for itself."""

    service: str
    user: Identity | None = None

    @property
    def subject(self) -> str:
        return self.service if self.user is None else f"{USER_SUBJECT}{self.user.user_id}"


def issue_token(user_id: int, role: str, secret: str, ttl_seconds: int = TOKEN_TTL_SECONDS) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "role": role, "iat": now, "exp": now + ttl_seconds, "iss": ISSUER}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(token: str, secret: str) -> Identity:
    """Decode and check a token; any problem is :class:`Unauthorized` with a short reason."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "iss"]}
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The token has expired.", code="token_expired") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("The token is invalid.", code="invalid_token") from None
    role = claims.get("role")
    user_id = parse_user_id(str(claims["sub"]))
    if role not in ROLES or user_id is None:
        raise Unauthorized("The token is invalid.", code="invalid_token")
    return Identity(user_id, role)


def parse_user_id(text: str) -> int | None:
    """The user id written in ``text``, or None unless it is ASCII digits naming an id from 1 to ``MAX_ID``.

    ``str.isdigit()`` alone is not the rule: it accepts "²" and other Unicode digits that ``int()`` then
    refuses (or reads), and any length, which ``int()`` refuses past 4300 digits.
    """
    if not (0 < len(text) <= len(str(MAX_ID)) and text.isascii() and text.isdigit()):
        return None
    user_id = int(text)
    return user_id if 1 <= user_id <= MAX_ID else None


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required.", code="missing_token")
    return token.strip()


class InternalTokens:
    """Mints this service's internal tokens and verifies the ones it receives, with ``INTERNAL_TOKEN_KEY``.

    A token is minted once and reused until less than half its life is left (so a receiver with a clock up to
    half a lifetime behind still accepts it): the caller's cost per hop is a dictionary lookup, the receiver's
    one HMAC verification.
    """

    def __init__(
        self, key: str, service: str, *, ttl_seconds: int = INTERNAL_TOKEN_TTL_SECONDS, clock: Any = time.time
    ) -> None:
        self._key = key
        self.service = service
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._cache: dict[tuple[str, str], tuple[str, float]] = {}
        self._verified: dict[str, tuple[Caller, float]] = {}

    def token(self, identity: Identity | None = None) -> str:
        """A token of this service, acting for ``identity`` or (None) for itself."""
        key = (str(identity.user_id), identity.role) if identity is not None else (self.service, SERVICE_ROLE)
        now = self._clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        subject = f"{USER_SUBJECT}{key[0]}" if identity is not None else self.service
        issued = int(now)
        claims = {
            "iss": self.service,
            "sub": subject,
            "role": key[1],
            "aud": INTERNAL_AUDIENCE,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
        }
        token = jwt.encode(claims, self._key, algorithm=ALGORITHM)
        if len(self._cache) >= MAX_CACHED_USERS:
            self._cache.clear()
        self._cache[key] = (token, issued + self.ttl_seconds / 2)
        return token

    def headers(self, identity: Identity | None = None) -> dict[str, str]:
        """The ``Authorization`` header of :meth:`token`."""
        return {AUTHORIZATION_HEADER: f"Bearer {self.token(identity)}"}

    def verify(self, token: str) -> Caller:
        """The caller a token names; :class:`Unauthorized` (``invalid_token`` / ``token_expired``) otherwise.

        A token that verified is remembered, by its exact text, until it expires: senders reuse a token for
        half its life, so most requests cost a dictionary lookup instead of PyJWT's decode and checks
        (``bench/internal_auth.py`` measures both).
        """
        remembered = self._verified.get(token)
        if remembered is not None and remembered[1] + INTERNAL_LEEWAY_SECONDS > self._clock():
            return remembered[0]
        caller, expires = self._decode(token)
        if len(self._verified) >= MAX_CACHED_USERS:
            self._verified.clear()
        self._verified[token] = (caller, expires)
        return caller

    def _decode(self, token: str) -> tuple[Caller, float]:
        """Signature, audience and claims checked by PyJWT; the times against this instance's clock."""
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=INTERNAL_AUDIENCE,
                options={"require": ["exp", "iat", "iss", "sub", "aud"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.InvalidTokenError:
            raise Unauthorized("The internal token is invalid.", code="invalid_token") from None
        issuer, subject, role = claims["iss"], claims["sub"], claims.get("role")
        expires, issued, now = claims["exp"], claims["iat"], self._clock()
        if not all(isinstance(t, int) and not isinstance(t, bool) for t in (expires, issued)):
            raise Unauthorized("The internal token is invalid.", code="invalid_token")
        if issued > now + INTERNAL_LEEWAY_SECONDS:
            raise Unauthorized("The internal token is invalid.", code="invalid_token")
        if expires + INTERNAL_LEEWAY_SECONDS <= now:
            raise Unauthorized("The internal token has expired.", code="token_expired")
        if not (isinstance(issuer, str) and isinstance(subject, str) and _SERVICE_NAME.fullmatch(issuer)):
            raise Unauthorized("The internal token is invalid.", code="invalid_token")
        if role == SERVICE_ROLE and subject == issuer:
            return Caller(issuer), float(expires)
        user_id = parse_user_id(subject.removeprefix(USER_SUBJECT)) if subject.startswith(USER_SUBJECT) else None
        if user_id is None or role not in ROLES:
            raise Unauthorized("The internal token is invalid.", code="invalid_token")
        return Caller(issuer, Identity(user_id, str(role))), float(expires)


def require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_only")
