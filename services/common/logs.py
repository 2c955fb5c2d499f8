"""Log lines a person can use: each carries the request id it serves, and an expected business
failure is one line without a traceback.

The gateway sends ``request_id`` in nameko's context data (AMQP headers ``nameko.request_id``);
nameko copies context data into every call a worker makes, so the id follows the request
through every service.  ``services.common.service.RequestLog`` puts it where the log filter
finds it: a greenthread local, set when a worker starts and cleared when it ends.
"""

from __future__ import annotations

import logging
import threading

REQUEST_ID = "request_id"
FORMAT = "%(asctime)s {process} %(levelname)s [%(request_id)s] %(name)s: %(message)s"

# Imported after eventlet's monkey patching (as every service process does), this local is
# per greenthread, so each worker sees its own request.
_current = threading.local()


def current_request_id() -> str:
    return getattr(_current, "request_id", None) or "-"


def set_request_id(request_id: str | None) -> None:
    _current.request_id = request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class ExpectedErrorsInOneLine(logging.Filter):
    """nameko logs a business failure (an ``expected_exceptions`` of the entrypoint) with its
    traceback; it is an answer, not a fault, so one line is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and record.msg.startswith("(expected)"):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def configure(process: str, level: int = logging.INFO) -> None:
    """Log to stderr, one line per record, with the request id."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(FORMAT.format(process=process)))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(ExpectedErrorsInOneLine())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
