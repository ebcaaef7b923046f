"""Identity: JWTs at the edge, trusted identity headers inside.

The users service issues HS256 JWTs (``sub`` = user id, ``role`` = user|admin, ``exp``, ``iat``, ``iss``).
The gateway verifies them and forwards the caller's identity to the services it calls as
``X-User-Id`` and ``X-User-Role``; services behind the gateway read those headers through
:func:`identity_from_headers` and never see tokens. Only the gateway is published to users.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from werkzeug.datastructures import Headers

from .contract import MAX_ID
from .errors import Forbidden, Unauthorized

ISSUER = "tienda"
ALGORITHM = "HS256"
TOKEN_TTL_SECONDS = 3600
USER_ID_HEADER = "X-User-Id"
USER_ROLE_HEADER = "X-User-Role"
ROLES = ("user", "admin")


@dataclass(frozen=True)
class Identity:
    user_id: int
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def headers(self) -> dict[str, str]:
        return {USER_ID_HEADER: str(self.user_id), USER_ROLE_HEADER: self.role}


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


def identity_from_headers(headers: Headers | Mapping[str, str]) -> Identity:
    """The caller as the gateway identified it; 401 when the headers are absent or malformed."""
    user_id = parse_user_id(headers.get(USER_ID_HEADER, ""))
    role = headers.get(USER_ROLE_HEADER, "")
    if user_id is None or role not in ROLES:
        raise Unauthorized("This endpoint needs an authenticated user.", code="unauthenticated")
    return Identity(user_id, role)


def require_admin(identity: Identity) -> None:
    if not identity.is_admin:
        raise Forbidden("This action needs the admin role.", code="admin_only")
