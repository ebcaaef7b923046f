"""Create the first admin, or promote an existing account::

    python -m services.users.admin --email admin@example.com --password 'a long secret' [--name Admin]

Uses the users database of the environment (``DATABASE_URL``, default ``var/users.db``), applying any
pending migration first. Idempotent: an existing admin is left unchanged, an existing ordinary account is
promoted (its password and name are kept). Prints one JSON object,
``{"action": "created"|"promoted"|"unchanged", "user": {id, email, name, role, created_at}}``.
Bad input is reported on stderr with exit status 2; a configuration error with exit status 1.
"""

from __future__ import annotations

import argparse
import json
import sys

from services.common.db import Database, migrate
from services.common.errors import DomainError
from telemetry import ConfigError

from .api import user_json
from .app import MIGRATIONS, SERVICE, build_service
from .domain import DEFAULT_ADMIN_NAME, validate_registration
from .settings import UserSettings


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.users.admin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--email", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--name", default=DEFAULT_ADMIN_NAME)
    return parser.parse_args(argv)


def _bad_input(exc: DomainError) -> int:
    problems = "".join(f"\n  {d['field']}: {d['message']}" for d in exc.details or ())
    print(f"error: {exc.message}{problems}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        validate_registration(args.email, args.password, args.name)  # before touching the database
    except DomainError as exc:
        return _bad_input(exc)
    try:
        settings = UserSettings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    db = Database(settings.database_url)
    try:
        migrate(db.engine, SERVICE, MIGRATIONS)
        result = build_service(db, settings).ensure_admin(args.email, args.password, args.name)
    except DomainError as exc:
        return _bad_input(exc)
    finally:
        db.dispose()
    print(json.dumps({"action": result.action, "user": user_json(result.user)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
