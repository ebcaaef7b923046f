import jwt
import pytest

from services.common.auth import InternalTokens, issue_token, parse_user_id, verify_token
from services.common.errors import Unauthorized

SECRET = "unit-tests-secret-" + "s" * 32


@pytest.mark.parametrize(("text", "user_id"), [("1", 1), ("42", 42), ("0042", 42), ("2147483647", 2147483647)])
def test_a_user_id_is_ascii_digits_naming_an_id(text, user_id):
    assert parse_user_id(text) == user_id


@pytest.mark.parametrize("text", ["", "²", "١", "1²", "𝟙", "+1", "-1", "1 ", "1.0", "0", "2147483648", "9" * 5000])
def test_anything_else_is_not_a_user_id(text):
    assert parse_user_id(text) is None


def test_an_internal_token_for_a_unicode_digit_user_is_invalid():
    tokens = InternalTokens(SECRET, "gateway")
    forged = jwt.encode(
        {"iss": "gateway", "sub": "user:²", "role": "user", "aud": "tienda-internal", "iat": 1, "exp": 2**40},
        SECRET,
        algorithm="HS256",
    )
    with pytest.raises(Unauthorized) as raised:
        tokens.verify(forged)
    assert raised.value.code == "invalid_token"


def test_a_token_whose_subject_is_a_unicode_digit_is_invalid():
    token = issue_token("²", "user", SECRET)  # type: ignore[arg-type]
    with pytest.raises(Unauthorized) as raised:
        verify_token(token, SECRET)
    assert raised.value.code == "invalid_token"
