"""Billing's command line, for the people who run the installation.

    python -m services.billing.cli create-operator --email E [--password P]
    python -m services.billing.cli check-ledger

Operators (the seller's staff) are made only here (and by ``BOOTSTRAP_OPERATOR_*`` at start),
never through the API.  Without ``--password`` the password is read from the terminal (or
from standard input when it is not a terminal).  The database is the one the billing service
uses (``BILLING_DATABASE_URL`` or the embedded default), migrated first.  ``check-ledger``
proves every entry balances and every wallet's recorded balances equal its postings; it prints
each problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import uuid

from sqlalchemy.orm import Session

from services.billing import credentials, domain, ledger_check, repository
from services.billing.models import User
from services.common.config import load_settings
from services.common.contracts import utcnow
from services.common.db import make_engine, migrate
from services.common.errors import BusinessError


def create_operator(email: str, password: str) -> str:
    settings = load_settings()
    url = settings.database_url("billing")
    migrate("billing", url)
    address = domain.normalise_email(email)
    credentials.check_new_password(password, address)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            if repository.user_by_email(session, address) is not None:
                raise SystemExit(f"a user with the address {address} already exists")
            operator = User(id=str(uuid.uuid4()), account_id=None, email=address,
                            password_hash=credentials.hash_password(password), role="operator",
                            email_verified_at=utcnow())
            session.add(operator)
            session.commit()
            return operator.id
    finally:
        engine.dispose()


def check_ledger() -> int:
    settings = load_settings()
    url = settings.database_url("billing")
    migrate("billing", url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            found = list(ledger_check.problems(session))
    finally:
        engine.dispose()
    for problem in found:
        print(problem)
    print(f"ledger {'has ' + str(len(found)) + ' problem(s)' if found else 'is whole'}")
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.billing.cli",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-operator", help="a member of the seller's staff")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="read from the terminal when left out")
    commands.add_parser("check-ledger", help="prove the ledger balances")
    args = parser.parse_args(argv)
    if args.command == "check-ledger":
        return check_ledger()
    password = args.password
    if password is None:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    try:
        user_id = create_operator(args.email, password)
    except BusinessError as refused:
        print(f"refused: {refused.message}", file=sys.stderr)
        return 2
    print(f"operator {args.email} created ({user_id})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
