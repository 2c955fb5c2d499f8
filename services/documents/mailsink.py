"""A local SMTP sink for development and tests: accepts every mail and writes it, as sent, to
``<directory>/<n>.eml`` (written aside, then renamed, so a reader never sees half a mail).

    python -m services.documents.mailsink --port 1025 --directory var/mail
    python -m services.documents.mailsink --directory var/mail --show ada@example.com

``make run`` starts one and prints the directory; the test harness starts one per run and reads
the mails back.  ``--show`` prints the newest mail to an address (headers and text, decoded).
Runs in its own plain process (aiosmtpd is asyncio; the services are eventlet).
"""

from __future__ import annotations

import argparse
import email.policy
import itertools
import os
import signal
import sys
import threading
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class WriteToDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.counter = itertools.count(1 + len(list(directory.glob("*.eml"))))
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            number = next(self.counter)
        final = self.directory / f"{number:06d}.eml"
        aside = self.directory / f".{number:06d}.eml.tmp"
        aside.write_bytes(envelope.original_content or envelope.content)
        os.replace(aside, final)
        return "250 Message accepted for delivery"


def show(directory: Path, recipient: str) -> int:
    parser = BytesParser(policy=email.policy.default)
    for path in sorted(directory.glob("*.eml"), reverse=True):
        message = parser.parsebytes(path.read_bytes())
        if str(message["To"]).lower() == recipient.lower():
            for header in ("From", "To", "Subject", "Date", "Content-Language"):
                print(f"{header}: {message[header]}")
            body = message.get_body(preferencelist=("plain",))
            print("\n" + (body.get_content() if body is not None else ""))
            return 0
    print(f"no mail to {recipient} in {directory}", file=sys.stderr)
    return 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--directory", type=Path, default=Path("var/mail"))
    parser.add_argument("--show", metavar="ADDRESS", help="print the newest mail to ADDRESS")
    args = parser.parse_args()
    if args.show:
        sys.exit(show(args.directory, args.show))
    args.directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(WriteToDirectory(args.directory), hostname=args.host, port=args.port)
    controller.start()
    print(f"mail sink on {args.host}:{args.port}, writing to {args.directory.resolve()}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
