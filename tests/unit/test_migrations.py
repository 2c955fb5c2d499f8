"""Migrations upgrade an embedded (SQLite) database that already holds data: a change that
copies a table other rows refer to (Alembic's batch mode) keeps every row and every key."""

import sqlite3

from services.common.db import migrate


def test_an_embedded_orders_database_with_orders_takes_the_changes_to_the_orders_table(tmp_path):
    path = tmp_path / "orders.sqlite3"
    url = f"sqlite:///{path}"
    migrate("orders", url, "0010")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO orders (id, account_id, request_key, status, currency, net_minor, "
                   "vat_minor, total_minor, paid_cash_minor, paid_voucher_minor, payment_method, "
                   "created_at, updated_at) VALUES ('o1', 'a1', 'k1', 'completed', 'EUR', 2000, "
                   "500, 2500, 2500, 0, 'balance', '2026-12-01 10:00:00', '2026-12-01 10:00:00')")
        db.execute("INSERT INTO order_lines (order_id, line_no, sku, name, quantity, "
                   "unit_price_minor, vat_rate_bp, net_minor, vat_minor, gross_minor, "
                   "implementation, kind, paid_cash_minor, paid_voucher_minor, failed_quantity, "
                   "refunded_cash_minor, refunded_voucher_minor) VALUES ('o1', 1, 'VM-S-1M', 'VM', "
                   "1, 2000, 2500, 2000, 500, 2500, 'succeeded', 'service', 2500, 0, 0, 0, 0)")

    migrate("orders", url)  # 0011 copies the orders table to add a unique constraint

    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone() != ("0010",)
        assert db.execute("SELECT count(*) FROM order_lines WHERE order_id = 'o1'").fetchone() == (1,)
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        assert db.execute("SELECT name FROM sqlite_master WHERE name LIKE '_alembic_tmp%'").fetchall() == []


def test_invoices_issued_before_the_hash_chain_are_sealed_in_numbering_order(tmp_path):
    from sqlalchemy.orm import Session

    from services.common.db import make_engine
    from services.invoicing import chain

    path = tmp_path / "invoicing.sqlite3"
    url = f"sqlite:///{path}"
    migrate("invoicing", url, "0005")
    with sqlite3.connect(path) as db:
        for n in (2, 1):
            db.execute("INSERT INTO invoices (id, number, series, year, sequence, account_id, "
                       "application_id, status, currency, net_minor, vat_minor, total_minor, "
                       "snapshot_json, issue_date, pdf_status, issued_at) VALUES (?, ?, 'INV', "
                       "2026, ?, 'a1', ?, 'issued', 'EUR', 2000, 500, 2500, '{\"lines\": []}', "
                       "'2026-12-01', 'ready', '2026-12-01 10:00:00.000000')",
                       (f"i{n}", f"INV-2026-00000{n}", n, f"app{n}"))

    migrate("invoicing", url)

    engine = make_engine(url)
    with Session(engine) as session:
        assert list(chain.verify(session)) == []
    engine.dispose()
    with sqlite3.connect(path) as db:
        first, second = db.execute("SELECT content_hash, previous_hash FROM invoices "
                                   "ORDER BY sequence").fetchall()
    assert first[1] is None and second[1] == first[0]
