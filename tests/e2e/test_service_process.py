"""A service process started as operators start it migrates, runs, and stops cleanly."""

import os
import signal
import subprocess
import sys

from services.common import testing


def test_a_service_stops_cleanly_when_signalled_twice(database_urls, amqp_uri, tmp_path):
    # Ctrl-C reaches every process of the group, and the launcher then sends SIGTERM too.
    log = tmp_path / "orders.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "services.run", "orders"],
                                   env={**os.environ, "AMQP_URI": amqp_uri}, stdout=out,
                                   stderr=subprocess.STDOUT, cwd=testing.ROOT)
        try:
            testing.wait_for(lambda: b"orders is running" in log.read_bytes(), 60,
                             message="the orders service never started")
            process.send_signal(signal.SIGINT)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0, log.read_text()
        finally:
            if process.poll() is None:
                process.kill()
