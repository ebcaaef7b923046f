#!/bin/sh
# One role and one database per tienda service, so no service can read another's data.
#
# The postgres image runs this once, when it initialises an empty data directory (a new
# volume): `docker compose down -v` starts over. Environment (set in docker-compose.yml):
#   TIENDA_DATABASES    service names, space-separated; each gets a role and a database of that name
#   TIENDA_DB_PASSWORD  the password of those roles
#   POSTGRES_USER, POSTGRES_DB  the superuser and database this script connects with
# psql's other settings (PGHOST, PGPORT, ...) come from the environment as usual.
set -eu

: "${TIENDA_DATABASES:?TIENDA_DATABASES must name the service databases}"
: "${TIENDA_DB_PASSWORD:?TIENDA_DB_PASSWORD must be set}"

for name in $TIENDA_DATABASES; do
    case "$name" in
        *[!a-z0-9_]* | [!a-z_]*)
            echo "10-tienda-databases.sh: '$name' is not a plain lower-case identifier" >&2
            exit 1
            ;;
    esac
    # :"name" and :'password' are quoted by psql itself (identifier and literal).
    psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet \
        --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
        --set name="$name" --set password="$TIENDA_DB_PASSWORD" <<'SQL'
CREATE ROLE :"name" LOGIN PASSWORD :'password';
CREATE DATABASE :"name" OWNER :"name";
REVOKE ALL ON DATABASE :"name" FROM PUBLIC;
SQL
    echo "10-tienda-databases.sh: database and role '$name' created"
done
