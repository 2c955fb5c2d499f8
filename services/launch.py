"""Run the whole product on this machine: ``python -m services.launch`` (what ``make run`` does).

Starts the four services and the gateway as child processes against the configured RabbitMQ
(the local one by default), each service migrating its own database first (an embedded SQLite
file under ``var/`` unless a ``*_DATABASE_URL`` is set), waits until ``/healthz`` is green,
prints the URL, and stops everything cleanly on Ctrl-C or SIGTERM.

Mail goes to a local SMTP sink started alongside (``services.documents.mailsink`` on
``SMTP_PORT``, writing each mail to ``$DATA_DIR/mail/*.eml``) unless ``LOCAL_MAIL_SINK=false``
or ``SMTP_HOST`` names another machine (a real relay or a mail catcher such as Mailpit).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from services.common.config import SERVICE_NAMES, load_settings

START_TIMEOUT_SECONDS = 90


def main() -> int:
    settings = load_settings()
    env = dict(os.environ)
    env.setdefault("DEMO_DATA", "true")
    env.setdefault("BOOTSTRAP_OPERATOR_EMAIL", "operator@example.com")
    env.setdefault("BOOTSTRAP_OPERATOR_PASSWORD", "operator-password")
    commands = {name: [sys.executable, "-m", "services.run", name] for name in SERVICE_NAMES}
    commands["gateway"] = [sys.executable, "-m", "gateway"]
    mail_dir = None
    if env.get("LOCAL_MAIL_SINK", "true").lower() != "false" and \
            settings.smtp_host in ("127.0.0.1", "localhost"):
        mail_dir = (settings.data_dir / "mail").resolve()
        commands["mail sink"] = [sys.executable, "-m", "services.documents.mailsink",
                                 "--host", settings.smtp_host, "--port", str(settings.smtp_port),
                                 "--directory", str(mail_dir)]
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    url = f"http://{settings.gateway_host}:{settings.gateway_port}"
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    ready = False
    while not stopping:
        dead = [name for name, child in children.items() if child.poll() is not None]
        if dead:
            print(f"stopped: {', '.join(dead)} exited; see the log above", file=sys.stderr)
            break
        if not ready:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=5) as answer:
                    ready = answer.status == 200
            except OSError:
                pass
            if ready:
                print(f"\nBilling console is running at {url}  (API docs: {url}/api/v1/docs)")
                print(f"Operator: {env['BOOTSTRAP_OPERATOR_EMAIL']} / "
                      f"{env['BOOTSTRAP_OPERATOR_PASSWORD']}")
                if mail_dir is not None:
                    print(f"Mail: caught by the local sink on {settings.smtp_host}:"
                          f"{settings.smtp_port}; each mail is a file in {mail_dir}/")
                else:
                    print(f"Mail: sent to {settings.smtp_host}:{settings.smtp_port}")
                print("Stop with Ctrl-C.\n", flush=True)
            elif time.monotonic() > deadline:
                print(f"not healthy after {START_TIMEOUT_SECONDS} s: {url}/healthz", file=sys.stderr)
                break
        time.sleep(0.5)

    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0 if stopping else 1


if __name__ == "__main__":
    sys.exit(main())
