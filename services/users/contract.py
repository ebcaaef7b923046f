"""The users service's HTTP contract: request and response models and their limits, written once.

``api.py`` validates with these models and documents its routes from them; the domain checks the same limits,
and the gateway's public API imports the models.

``POST /users``        :class:`RegisterUser` → 201 :class:`UserOut`; 409 ``email_taken``
``POST /auth/token``   :class:`TokenRequest` → :class:`TokenOut`; 401 ``invalid_credentials`` for an unknown
                       email and a wrong password alike
``GET /users/me``      the user of the caller's internal token → :class:`UserOut`; 401 without a token,
                       404 ``user_not_found`` when the account no longer exists
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Final, Literal

from pydantic import BaseModel, Field
from pydantic.config import JsonDict

from services.common.auth import Role
from services.common.contract import LINE_PATTERN, one_line
from services.common.validation import Strict

EMAIL_MAX_LENGTH: Final = 254
PASSWORD_MIN_LENGTH: Final = 8
PASSWORD_MAX_LENGTH: Final = 128
NAME_MAX_LENGTH: Final = 100
#: Deliberately simple: something, an @, something with a dot; no whitespace, no control characters.
EMAIL_PATTERN: Final = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"

_PASSWORD: JsonDict = {"format": "password", "writeOnly": True}


class RegisterUser(Strict):
    email: str = Field(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN, description="Unique, any letter case.")
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH, json_schema_extra=_PASSWORD)
    name: Annotated[str, one_line(NAME_MAX_LENGTH), Field(description="Leading and trailing blanks removed.")]


class TokenRequest(Strict):
    email: str = Field(max_length=EMAIL_MAX_LENGTH, pattern=LINE_PATTERN)
    password: str = Field(max_length=PASSWORD_MAX_LENGTH, json_schema_extra=_PASSWORD)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Role
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")
