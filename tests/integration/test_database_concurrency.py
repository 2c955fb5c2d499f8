"""PostgreSQL from green threads: queries overlap instead of queueing behind the hub."""

import time

import eventlet
from sqlalchemy import text

from services.common.db import make_engine


def test_concurrent_queries_from_green_threads_overlap(database_urls):
    engine = make_engine(database_urls["billing"])

    def sleep_in_database() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(1)"))

    started = time.monotonic()
    pool = eventlet.GreenPool()
    for _ in range(5):
        pool.spawn(sleep_in_database)
    pool.waitall()
    elapsed = time.monotonic() - started
    engine.dispose()
    assert elapsed < 2.5, f"five 1 s queries took {elapsed:.1f} s: the driver blocks the hub"
