"""Invoicing's command line, for the people who run the installation.

    python -m services.invoicing.cli verify-chain

``verify-chain`` recomputes the hash chain of every issued document (each document's hash of
its content and of the one before it in its series and year, see ``chain``), prints the first
broken link of each series — the document whose content changed, that does not link to the one
before it, or before which a number is missing — and exits 1 if there is any.  The database is
the one the invoicing service uses (``INVOICING_DATABASE_URL`` or the embedded default).
"""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common.config import load_settings
from services.common.db import make_engine, migrate
from services.invoicing import chain
from services.invoicing.models import Invoice


def verify_chain() -> int:
    url = load_settings().database_url("invoicing")
    migrate("invoicing", url)
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            broken = list(chain.verify(session))
            count = session.scalar(select(func.count()).select_from(Invoice)) or 0
    finally:
        engine.dispose()
    for link in broken:
        print(f"broken: {link}")
    print(f"{count} document(s); the chain is {'broken' if broken else 'whole'}")
    return 1 if broken else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.invoicing.cli",
                                     description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("verify-chain", help="prove no issued document was changed or removed")
    parser.parse_args(argv)
    return verify_chain()


if __name__ == "__main__":
    sys.exit(main())
