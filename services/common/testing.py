"""Test helpers shared by every tier: real PostgreSQL databases, real RabbitMQ vhosts, and the
whole product run as separate processes.  Nothing here is a mock: a missing broker or database
is a failure with a message saying what to start, never a skip.
"""

from __future__ import annotations

import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlparse

import httpx
from sqlalchemy import create_engine, text

from services.common.config import SERVICE_NAMES

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
AMQP_ROOT = os.environ.get("TEST_AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
RABBIT_API = os.environ.get("TEST_RABBIT_API", "http://guest:guest@127.0.0.1:15672/api")
DATABASE_OWNERS = (*SERVICE_NAMES, "gateway")
ROOT = Path(__file__).resolve().parents[2]


class MissingInfrastructure(RuntimeError):
    pass


# -- PostgreSQL -------------------------------------------------------------------------------------


def postgres_url(database: str) -> str:
    parsed = urlparse(POSTGRES_ADMIN_URL)
    return parsed._replace(path=f"/{database}").geturl()


def create_databases(prefix: str) -> dict[str, str]:
    """One fresh database per owner; returns owner → URL."""
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            urls = {}
            for owner in DATABASE_OWNERS:
                name = f"{prefix}_{owner}"
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{name}"'))
                urls[owner] = postgres_url(name)
            return urls
    except Exception as error:
        raise MissingInfrastructure(
            f"PostgreSQL is needed at {POSTGRES_ADMIN_URL} ({error.__class__.__name__}: {error}). "
            "Start it: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
        ) from error
    finally:
        engine.dispose()


def drop_databases(prefix: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for owner in DATABASE_OWNERS:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{owner}" WITH (FORCE)'))
    finally:
        engine.dispose()


def database_env(urls: dict[str, str]) -> dict[str, str]:
    return {f"{owner.upper()}_DATABASE_URL": url for owner, url in urls.items()}


# -- RabbitMQ ---------------------------------------------------------------------------------------


def _rabbit() -> httpx.Client:
    parsed = urlparse(RABBIT_API)
    host = parsed.hostname or ""
    base = parsed._replace(netloc=host + (f":{parsed.port}" if parsed.port else "")).geturl()
    return httpx.Client(base_url=base, auth=(parsed.username or "guest", parsed.password or "guest"),
                        timeout=10)


def create_vhost(name: str | None = None) -> tuple[str, str]:
    """A fresh vhost; returns (name, AMQP URI)."""
    name = name or f"bc_test_{uuid.uuid4().hex[:10]}"
    user = urlparse(AMQP_ROOT).username or "guest"
    try:
        with _rabbit() as api:
            api.put(f"/vhosts/{quote(name, safe='')}").raise_for_status()
            api.put(f"/permissions/{quote(name, safe='')}/{user}",
                    json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
    except Exception as error:
        raise MissingInfrastructure(
            f"RabbitMQ with the management plugin is needed at {RABBIT_API} ({error}). "
            "Start it: rabbitmq-plugins enable rabbitmq_management && rabbitmq-server -detached"
        ) from error
    return name, AMQP_ROOT.rstrip("/") + "/" + quote(name, safe="")


def delete_vhost(name: str) -> None:
    with _rabbit() as api:
        api.delete(f"/vhosts/{quote(name, safe='')}")


def queue_stats(vhost: str, queue: str) -> dict[str, Any]:
    with _rabbit() as api:
        answer = api.get(f"/queues/{quote(vhost, safe='')}/{quote(queue, safe='')}")
        answer.raise_for_status()
        return answer.json()


# -- the whole product as processes -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition: Any, timeout: float, interval: float = 0.2, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s: {message}")
        time.sleep(interval)


class MailSink:
    """A real SMTP server on loopback (``services.documents.mailsink``, its own process) whose
    mails are read back as parsed messages."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.documents.mailsink", "--port", str(self.port),
             "--directory", str(directory)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        wait_for(self._listening, 20, 0.1, f"the mail sink never listened on {self.port}")

    def _listening(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError("the mail sink exited at start")
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    @property
    def env(self) -> dict[str, str]:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port)}

    def messages(self) -> list[EmailMessage]:
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(path.read_bytes())
                for path in sorted(self.directory.glob("*.eml"))]

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for m in self.messages() if m["To"] == recipient]

    def wait_for_mail(self, recipient: str, count: int = 1, timeout: float = 20) -> list[EmailMessage]:
        return wait_for(lambda: (found := self.to(recipient)) and len(found) >= count and found,
                        timeout, 0.1, f"{count} mail(s) to {recipient} never arrived")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def link_token(message: EmailMessage) -> str:
    """The token of the one-time link in a mail (``...?token=...``)."""
    found = re.search(r"[?&]token=([A-Za-z0-9_-]+)", text_of(message))
    assert found, "the mail has no link with a token"
    return found.group(1)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the mail has no text part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the mail has no HTML part"
    return str(part.get_content())


class Product:
    """The four services and the gateway, each its own process, as ``make run`` starts them."""

    COMMANDS = {**{name: ["-m", "services.run", name] for name in SERVICE_NAMES},
                "gateway": ["-m", "gateway"]}

    def __init__(self, env: dict[str, str], logs: Path, mail: MailSink | None = None) -> None:
        self.env = {**os.environ, **env}
        self.logs = logs
        self.mail = mail
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.url = f"http://{env['GATEWAY_HOST']}:{env['GATEWAY_PORT']}"

    def start(self, *names: str) -> None:
        for name in names or tuple(self.COMMANDS):
            log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            self.processes[name] = subprocess.Popen(
                [sys.executable, *self.COMMANDS[name]], env=self.env, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT,
            )

    def publish(self, evt: Any) -> None:
        """Publish an event on the product's broker, as the service that owns it would (for
        a producer that is not built yet, or a delivery the test wants to repeat)."""
        from nameko.standalone.events import event_dispatcher

        event_dispatcher({"AMQP_URI": self.env["AMQP_URI"]})(evt.source, evt.type, evt.wire())

    def rpc(self, service: str, method: str, *args: Any) -> Any:
        """Call a service over the product's broker, as another service would (for what has
        no HTTP route: ``run_timers_at``, which moves the orders service's clock)."""
        from nameko.standalone.rpc import ClusterRpcProxy

        with ClusterRpcProxy({"AMQP_URI": self.env["AMQP_URI"]}, timeout=30) as cluster:
            return getattr(getattr(cluster, service), method)(*args)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        process.send_signal(sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            process.wait(timeout=30)

    def healthy(self, *names: str) -> bool:
        try:
            report = httpx.get(f"{self.url}/healthz", timeout=10).json()["checks"]
        except (httpx.HTTPError, ValueError, KeyError):
            return False
        return all(report.get(name, {}).get("status") == "ok" for name in names or report)

    def wait_healthy(self, *names: str, timeout: float = 90) -> None:
        def check() -> bool:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise AssertionError(f"{name} exited:\n{self.log_tail(name)}")
            return self.healthy(*names)

        wait_for(check, timeout, 0.3, f"the product at {self.url} did not become healthy")

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.logs / f"{name}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@contextmanager
def running_product(tmp: Path, embedded: bool = False, **extra_env: str) -> Iterator[Product]:
    """The product on a fresh vhost, with fresh PostgreSQL databases, or with the embedded
    SQLite files under its data directory that ``make run`` uses (``embedded=True``), and a
    mail sink of its own (``product.mail``)."""
    prefix = f"bc_e2e_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    urls = {} if embedded else create_databases(prefix)
    vhost, amqp_uri = create_vhost()
    mail = MailSink(tmp / "mail")
    port = free_port()
    env = {
        "ENVIRONMENT": "test",
        "AMQP_URI": amqp_uri,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        "CONSOLE_URL": f"http://127.0.0.1:{port}",
        "CARD_SIM_DELAY_SECONDS": "1",
        "DATA_DIR": str(tmp / "data"),
        "DEMO_DATA": "true",
        "BOOTSTRAP_OPERATOR_EMAIL": "operator@example.com",
        "BOOTSTRAP_OPERATOR_PASSWORD": "operator-password",
        "SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "HUB_BLOCKING_DETECTION": "2",
        "RPC_TIMEOUT": "10",
        **mail.env,
        **database_env(urls),
        **extra_env,
    }
    product = Product(env, tmp, mail)
    try:
        product.start()
        product.wait_healthy()
        yield product
    finally:
        product.stop()
        mail.stop()
        delete_vhost(vhost)
        if not embedded:
            drop_databases(prefix)
