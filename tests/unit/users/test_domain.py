"""The users domain with in-memory fakes of its ports: no Flask, no database, no argon2."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.common.errors import InvalidInput
from services.users.domain import (
    AdminRefused,
    EmailTaken,
    InvalidCredentials,
    NewUser,
    PasswordHasher,
    User,
    UserNotFound,
    UserRepository,
    UserService,
)


def sign(user_id: int, role: str) -> str:
    """A stand-in for the JWT signer: the token names whom it was signed for."""
    return f"token:{user_id}:{role}"


class FakeUsers(UserRepository):
    def __init__(self) -> None:
        self.rows: dict[int, User] = {}
        self.rehashed: list[int] = []

    def add(self, new: NewUser) -> User:
        if any(u.email == new.email for u in self.rows.values()):
            raise EmailTaken()
        user = User(len(self.rows) + 1, new.email, new.name, new.role, new.password_hash, datetime.now(UTC))
        self.rows[user.id] = user
        return user

    def get(self, user_id: int) -> User | None:
        return self.rows.get(user_id)

    def get_by_email(self, email: str) -> User | None:
        return next((u for u in self.rows.values() if u.email == email), None)

    def set_role(self, user_id: int, role: str) -> User:
        self.rows[user_id] = replace(self.rows[user_id], role=role)
        return self.rows[user_id]

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.rehashed.append(user_id)
        self.rows[user_id] = replace(self.rows[user_id], password_hash=password_hash)


class FakeHasher(PasswordHasher):
    """Reversible on purpose, so tests can see what was hashed; ``version`` plays argon2's parameters."""

    def __init__(self, version: int = 2) -> None:
        self.version = version
        self.hashed = 0
        self.verified: list[str] = []

    def hash(self, password: str) -> str:
        self.hashed += 1
        return f"v{self.version}${password[::-1]}"

    def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return password_hash.partition("$")[2] == password[::-1]

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(f"v{self.version}$")


class RacingUsers(FakeUsers):
    """Someone else stores the email between our lookup and our insert."""

    def __init__(self, rival: NewUser) -> None:
        super().__init__()
        self.rival = rival

    def add(self, new: NewUser) -> User:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            super().add(rival)
        return super().add(new)


@pytest.fixture
def users():
    return FakeUsers()


@pytest.fixture
def hasher():
    return FakeHasher()


@pytest.fixture
def service(users, hasher):
    return UserService(users, hasher, sign)


def test_registering_stores_a_user_with_the_email_lower_cased_the_name_stripped_and_the_password_hashed(service, users):
    user = service.register("Ada.Lovelace@Example.COM", "analytical engine", "  Ada Lovelace ")

    assert (user.email, user.name, user.role) == ("ada.lovelace@example.com", "Ada Lovelace", "user")
    assert users.rows[user.id].password_hash == "v2$enigne lacitylana"


def test_registering_logs_user_registered_with_the_user_id_and_no_password(service, caplog):
    caplog.set_level(logging.INFO, logger="services.users.domain")

    user = service.register("ada@example.com", "analytical engine", "Ada")

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "user.registered"]
    assert record.user_id == user.id
    assert "analytical engine" not in caplog.text


def test_registering_an_email_taken_in_another_letter_case_raises_email_taken(service, users):
    service.register("ada@example.com", "analytical engine", "Ada")

    with pytest.raises(EmailTaken) as caught:
        service.register("ADA@Example.com", "different password", "Other Ada")

    assert (caught.value.status, caught.value.code) == (409, "email_taken")
    assert len(users.rows) == 1


@pytest.mark.parametrize(
    ("email", "password", "name", "fields"),
    [
        ("not-an-email", "long enough", "Ada", ["email"]),
        ("ada@localhost", "long enough", "Ada", ["email"]),
        ("ada lovelace@example.com", "long enough", "Ada", ["email"]),
        ("a@b@example.com", "long enough", "Ada", ["email"]),
        ("a" * 243 + "@example.com", "long enough", "Ada", ["email"]),
        ("ada@example.com", "7 chars", "Ada", ["password"]),
        ("ada@example.com", "x" * 129, "Ada", ["password"]),
        ("ada@example.com", "long enough", "   ", ["name"]),
        ("ada@example.com", "long enough", "n" * 101, ["name"]),
        ("nope", "short", "", ["email", "password", "name"]),
    ],
)
def test_registration_input_breaking_a_rule_is_invalid_input_naming_each_field(
    service, users, email, password, name, fields
):
    with pytest.raises(InvalidInput) as caught:
        service.register(email, password, name)

    assert [d["field"] for d in caught.value.details] == fields
    assert password not in str(caught.value.details)
    assert users.rows == {}


def test_the_length_limits_themselves_are_accepted(service):
    email = "a" * 242 + "@example.com"
    user = service.register(email, "p" * 128, "n" * 100)

    assert len(user.email) == 254 and len(user.name) == 100
    assert service.register("b@example.com", "p" * 8, "n").name == "n"


def test_authenticating_with_the_right_password_in_any_email_case_returns_the_user(service):
    registered = service.register("ada@example.com", "analytical engine", "Ada")

    assert service.authenticate("ADA@example.com", "analytical engine") == registered


def test_a_token_is_signed_for_the_user_the_credentials_name_and_lasts_an_hour(service):
    registered = service.register("ada@example.com", "analytical engine", "Ada")

    issued = service.issue_token("ada@example.com", "analytical engine")

    assert (issued.token, issued.expires_in_seconds) == (f"token:{registered.id}:user", 3600)


def test_no_token_is_signed_for_a_wrong_password(service):
    service.register("ada@example.com", "analytical engine", "Ada")

    with pytest.raises(InvalidCredentials):
        service.issue_token("ada@example.com", "difference engine")


def test_a_wrong_password_raises_invalid_credentials(service):
    service.register("ada@example.com", "analytical engine", "Ada")

    with pytest.raises(InvalidCredentials) as caught:
        service.authenticate("ada@example.com", "difference engine")

    assert (caught.value.status, caught.value.code) == (401, "invalid_credentials")


def test_an_unknown_email_raises_the_same_error_after_verifying_against_a_dummy_hash(service, hasher):
    service.register("ada@example.com", "analytical engine", "Ada")
    with pytest.raises(InvalidCredentials) as wrong_password:
        service.authenticate("ada@example.com", "difference engine")
    hasher.verified.clear()

    with pytest.raises(InvalidCredentials) as unknown_email:
        service.authenticate("grace@example.com", "difference engine")

    assert str(unknown_email.value) == str(wrong_password.value)
    assert len(hasher.verified) == 1 and hasher.verified[0].startswith("v2$")


def test_warming_up_makes_the_dummy_hash_once_so_no_unknown_email_login_pays_for_it(service, hasher):
    service.warm_up()
    assert hasher.hashed == 1

    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            service.authenticate("grace@example.com", "difference engine")

    assert hasher.hashed == 1 and len(hasher.verified) == 2


def test_a_hash_made_with_old_parameters_is_replaced_at_the_next_good_login(users):
    service_v1 = UserService(users, FakeHasher(version=1), sign)
    user = service_v1.register("ada@example.com", "analytical engine", "Ada")
    service_v2 = UserService(users, FakeHasher(version=2), sign)

    service_v2.authenticate("ada@example.com", "analytical engine")

    assert users.rows[user.id].password_hash == "v2$enigne lacitylana"
    service_v2.authenticate("ada@example.com", "analytical engine")
    assert users.rehashed == [user.id]


def test_a_failed_login_does_not_rehash(users):
    UserService(users, FakeHasher(version=1), sign).register("ada@example.com", "analytical engine", "Ada")

    with pytest.raises(InvalidCredentials):
        UserService(users, FakeHasher(version=2), sign).authenticate("ada@example.com", "wrong password")

    assert users.rehashed == []


def test_getting_an_unknown_user_raises_user_not_found(service):
    with pytest.raises(UserNotFound) as caught:
        service.get(42)

    assert (caught.value.status, caught.value.code) == (404, "user_not_found")


def test_ensure_admin_creates_an_admin_then_leaves_it_unchanged(service, users):
    first = service.ensure_admin("Root@Example.com", "admin password", "Root")
    again = service.ensure_admin("root@example.com", "another password", "Other")

    assert (first.action, first.user.role, first.user.email) == ("created", "admin", "root@example.com")
    assert (again.action, again.user) == ("unchanged", first.user)
    assert len(users.rows) == 1
    assert service.authenticate("root@example.com", "admin password") == first.user


def test_ensure_admin_promotes_an_existing_account_keeping_its_password_and_name(service):
    user = service.register("ada@example.com", "analytical engine", "Ada")

    result = service.ensure_admin("ada@example.com", "admin password", "Admin")

    assert (result.action, result.user.id, result.user.role, result.user.name) == ("promoted", user.id, "admin", "Ada")
    assert service.authenticate("ada@example.com", "analytical engine").role == "admin"


def test_ensure_admin_with_verify_promotes_only_when_the_password_is_the_accounts_own(service, users):
    user = service.register("ada@example.com", "analytical engine", "Ada")

    with pytest.raises(AdminRefused):
        service.ensure_admin("ada@example.com", "admin password", verify=True)
    assert users.rows[user.id].role == "user"

    assert service.ensure_admin("ada@example.com", "analytical engine", verify=True).action == "promoted"


def test_ensure_admin_validates_its_input_like_registration(service, users):
    with pytest.raises(InvalidInput):
        service.ensure_admin("root", "short")

    assert users.rows == {}


def test_ensure_admin_promotes_an_account_registered_while_it_was_creating_one(hasher):
    rival = NewUser("root@example.com", "Rival", "user", hasher.hash("rival password"))
    users = RacingUsers(rival)
    service = UserService(users, hasher, sign)

    result = service.ensure_admin("root@example.com", "admin password")

    assert (result.action, result.user.role, result.user.name) == ("promoted", "admin", "Rival")
    assert len(users.rows) == 1
