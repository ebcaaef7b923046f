"""Storage of the users service: the ``users`` table and the repository implementing the domain's port.

Email uniqueness is the database's job: ``uq_users_email`` on the lower-cased email, so two concurrent
registrations of one address cannot both succeed; the loser's ``IntegrityError`` becomes ``EmailTaken``.
The schema itself is created by the Alembic migrations in ``migrations/``; the models here mirror it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.auth import ROLES
from services.common.db import Database, from_row, one_of, schema_metadata

from .contract import EMAIL_MAX_LENGTH, NAME_MAX_LENGTH
from .domain import EmailTaken, NewUser, User, UserNotFound, UserRepository

EMAIL_CONSTRAINT = "uq_users_email"


class Base(DeclarativeBase):
    metadata = schema_metadata()


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (one_of("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _user(row: UserRow) -> User:
    return from_row(User, row)


def _is_email_conflict(exc: IntegrityError) -> bool:
    text = str(exc.orig)
    return EMAIL_CONSTRAINT in text or "users.email" in text  # PostgreSQL names the constraint, SQLite the column


class SqlUserRepository(UserRepository):
    """One short transaction per call."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, new: NewUser) -> User:
        try:
            with self._db.session() as session:
                row = UserRow(
                    email=new.email,
                    name=new.name,
                    role=new.role,
                    password_hash=new.password_hash,
                    created_at=datetime.now(UTC),
                )
                session.add(row)
                session.flush()
                return _user(row)
        except IntegrityError as exc:
            if _is_email_conflict(exc):
                raise EmailTaken() from None
            raise

    def get(self, user_id: int) -> User | None:
        with self._db.session() as session:
            row = session.get(UserRow, user_id)
            return _user(row) if row is not None else None

    def get_by_email(self, email: str) -> User | None:
        with self._db.session() as session:
            row = session.scalars(select(UserRow).where(UserRow.email == email)).one_or_none()
            return _user(row) if row is not None else None

    def set_role(self, user_id: int, role: str) -> User:
        with self._db.session() as session:
            row = session.get(UserRow, user_id)
            if row is None:
                raise UserNotFound()
            row.role = role
            session.flush()
            return _user(row)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self._db.session() as session:
            session.execute(update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash))
