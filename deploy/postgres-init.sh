#!/bin/bash
# One database and one login role per owner (the four services and the gateway), each role
# owning only its own database.  Run once by the postgres image's entrypoint, on the first
# start with an empty data volume (/docker-entrypoint-initdb.d).  A role's password comes from
# <OWNER>_DB_PASSWORD (e.g. BILLING_DB_PASSWORD) and defaults to the owner's name; it must
# match the password in that owner's *_DATABASE_URL (docker-compose.yml builds both from the
# same variables).
#
# The entrypoint may source this file rather than execute it, so it sets no shell options
# of its own and leaves only uniquely named variables behind.
for billing_console_owner in billing orders invoicing documents gateway; do
    billing_console_password_var="${billing_console_owner^^}_DB_PASSWORD"
    billing_console_password="${!billing_console_password_var:-$billing_console_owner}"
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
        -v owner="$billing_console_owner" -v password="$billing_console_password" <<'SQL' || exit 1
CREATE ROLE :"owner" LOGIN PASSWORD :'password';
CREATE DATABASE :"owner" OWNER :"owner";
REVOKE ALL ON DATABASE :"owner" FROM PUBLIC;
SQL
done
unset billing_console_owner billing_console_password_var billing_console_password
