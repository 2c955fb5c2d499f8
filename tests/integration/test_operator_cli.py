"""Operators are made by the documented command line, on the billing database: verified at
once, argon2id-hashed, never twice for one address, and only with a password the policy allows."""

import os
import subprocess
import sys
import uuid

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.billing.models import User
from services.common import testing
from services.common.db import make_engine


def cli(database_urls, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BILLING_DATABASE_URL": database_urls["billing"]}
    return subprocess.run([sys.executable, "-m", "services.billing.cli", *args], env=env,
                          cwd=testing.ROOT, input=stdin, capture_output=True, text=True, timeout=60)


def operator_named(database_urls, email: str) -> User | None:
    engine = make_engine(database_urls["billing"])
    try:
        with Session(engine) as session:
            return session.scalars(select(User).where(User.email == email)).first()
    finally:
        engine.dispose()


def test_create_operator_makes_a_verified_operator_once(database_urls):
    email = f"staff-{uuid.uuid4().hex[:8]}@nimbus.example"

    made = cli(database_urls, "create-operator", "--email", email, "--password", "staff-secret-42x")
    again = cli(database_urls, "create-operator", "--email", email.upper(), "--password", "x" * 20)

    assert made.returncode == 0, made.stderr
    operator = operator_named(database_urls, email)
    assert operator is not None
    assert (operator.role, operator.account_id) == ("operator", None)
    assert operator.email_verified_at is not None
    assert operator.password_hash.startswith("$argon2id$")
    assert again.returncode != 0 and "already exists" in again.stderr


def test_create_operator_reads_the_password_from_standard_input(database_urls):
    email = f"staff-{uuid.uuid4().hex[:8]}@nimbus.example"
    made = cli(database_urls, "create-operator", "--email", email, stdin="staff-secret-42x\n")
    assert made.returncode == 0, made.stderr
    assert operator_named(database_urls, email) is not None


def test_create_operator_refuses_a_common_password(database_urls):
    email = f"staff-{uuid.uuid4().hex[:8]}@nimbus.example"
    refused = cli(database_urls, "create-operator", "--email", email, "--password", "password1234")
    assert refused.returncode == 2 and "common" in refused.stderr
    assert operator_named(database_urls, email) is None


def test_check_ledger_passes_a_whole_ledger_and_names_a_tampered_balance(database_urls, run_services,
                                                                         rpc):
    from services.billing.models import Posting
    from services.billing.service import BillingService

    run_services(BillingService)
    account_id = rpc.billing.register_account({
        "email": f"{uuid.uuid4().hex[:10]}@example.com", "password": "long-enough-pw",
        "country": "SE", "company_name": "Check AB"})["account_id"]
    rpc.billing.credit_balance({"account_id": account_id, "amount": "10.00", "currency": "EUR",
                                "reference": "wire", "idempotency_key": uuid.uuid4().hex})
    whole = cli(database_urls, "check-ledger")
    assert (whole.returncode, whole.stdout.strip().splitlines()[-1]) == (0, "ledger is whole"), whole.stdout

    engine = make_engine(database_urls["billing"], reads=True)
    with engine.connect() as connection:
        posting_id = connection.scalar(select(Posting.id).where(Posting.account_id == account_id))
        tamper = update(Posting).where(Posting.id == posting_id)
        connection.execute(tamper.values(balance_after_minor=Posting.balance_after_minor + 1))
        try:
            broken = cli(database_urls, "check-ledger")
        finally:
            connection.execute(tamper.values(balance_after_minor=Posting.balance_after_minor - 1))
    engine.dispose()
    assert broken.returncode == 1
    assert f"posting {posting_id}: cash wallet of {account_id} records 1001" in broken.stdout
