"""A rendering process: reads requests on stdin, writes PDFs on stdout.

Runs outside the eventlet hub (WeasyPrint is CPU-bound).  Framing, both ways: a 4-byte
big-endian length, then the body.  A request body is JSON ``{"template", "language",
"context", "variant", "facturx"}`` (``variant`` ``pdf/a-3b`` for an archivable PDF;
``facturx`` the CII XML to embed in it), or ``{"op": "merge", "parts", "target"}`` to join
PDFs rendered in parts into one file; a reply body is one status byte (``0`` PDF follows,
``1`` an error message follows) and the payload.  Only packaged templates and assets are ever
read: the URL fetcher refuses anything outside ``templates/``, so a document cannot make the
renderer fetch from the network or read the machine's files.

The process limits its own address space (``--memory-mb``): a document that would need more
fails with ``MemoryError`` and the service replaces the process; the service also bounds each
render's time.  It runs at a lower priority (``--nice``) and, past a burst, at a share of one
core (``--cpu-share``, ``Throttle``), so that long reports never starve customers' requests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import struct
import sys
import time
import traceback
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

TEMPLATES = Path(__file__).resolve().parent / "templates"


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame, whole, or ``None`` when the stream ends before it does (a pipe hands over at
    most a buffer's worth per read: a PDF arrives in many)."""
    header = _read_exactly(stream, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    return _read_exactly(stream, length)


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    parts, missing = [], size
    while missing:
        part = stream.read(missing)
        if not part:
            return None
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def make_renderer() -> Any:
    from functools import cache

    from jinja2 import FileSystemLoader
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    from services.documents import i18n

    class PackagedAssetsOnly(URLFetcher):
        """Serves files under ``templates/`` and nothing else.  The path checked is the one
        read: decoded first (``%2e%2e`` is ``..``), resolved, then fetched by its own URI."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
                raise ValueError(f"refusing to fetch {url}")
            path = Path(url2pathname(parts.path)).resolve()
            if TEMPLATES not in path.parents or not path.is_file():
                raise ValueError(f"refusing to read {path}")
            return super().fetch(path.as_uri(), headers)

    loader = FileSystemLoader(TEMPLATES)
    base_url = TEMPLATES.as_uri() + "/"

    @cache
    def environment(language: str) -> Any:
        return i18n.environment(loader, language, autoescape=True)

    def render(request: dict[str, Any]) -> bytes:
        if request.get("op") == "merge":
            return merge(request["parts"], request["target"])
        template = environment(i18n.language_of(request.get("language")))
        html = template.get_template(request["template"]).render(**request["context"])
        document = HTML(string=html, base_url=base_url, url_fetcher=PackagedAssetsOnly())
        pdf: bytes = document.write_pdf(pdf_variant=request.get("variant"))
        if request.get("facturx"):
            from services.common import facturx

            pdf = facturx.embed(pdf, request["facturx"].encode())
        return pdf

    return render


def merge(parts: list[str], target: str) -> bytes:
    """Join PDFs rendered in parts into one file at ``target`` (a report's pages in order)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(part)
    with open(target, "wb") as out:
        writer.write(out)
    return b""


class Throttle:
    """Gives the CPU back to the requests customers are waiting for.  Every ``QUANTUM`` of this
    process's CPU time (``ITIMER_PROF``) past a document's first ``burst_seconds`` (an invoice
    renders within it), it looks at the whole box (``/proc/stat``): when other processes were
    busy meanwhile — more than a quarter of a core — it sleeps as long as holds it to ``share``
    of one core; on an idle box it renders at full speed."""

    QUANTUM = 0.05
    OTHERS_BUSY = 0.25  # cores

    def __init__(self, share: float, burst_seconds: float) -> None:
        self.pause = self.QUANTUM * (1 / share - 1) if 0 < share < 1 else 0.0
        self.burst = burst_seconds
        self.used = 0.0
        self.last = self._sample()

    def start(self) -> None:
        if self.pause:
            signal.signal(signal.SIGPROF, self._tick)
            signal.setitimer(signal.ITIMER_PROF, self.QUANTUM, self.QUANTUM)

    def reset(self) -> None:
        """A new document: its burst starts afresh."""
        self.used = 0.0
        self.last = self._sample()

    def _tick(self, signum: int, frame: Any) -> None:
        self.used += self.QUANTUM
        now = self._sample()
        if self.used > self.burst and self._others_busy(self.last, now):
            time.sleep(self.pause)
            now = self._sample()
        self.last = now

    def _others_busy(self, before: tuple[float, float, float] | None,
                     after: tuple[float, float, float] | None) -> bool:
        if before is None or after is None:
            return True  # no way to tell: assume the box is shared
        wall = after[0] - before[0]
        if wall <= 0:
            return False
        box_cores = (after[1] - before[1]) / wall
        mine = (after[2] - before[2]) / wall
        return box_cores - mine > self.OTHERS_BUSY

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        """(now, the box's busy CPU seconds, this process's CPU seconds)."""
        try:
            with open("/proc/stat") as stat:
                fields = [int(v) for v in stat.readline().split()[1:]]
        except (OSError, ValueError):
            return None
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        busy = (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")
        times = os.times()
        return time.monotonic(), busy, times.user + times.system


def main() -> None:
    # Ctrl-C reaches the whole process group; the documents service ends this process itself
    # (closing the pipe or killing it), so the interrupt is not ours to act on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=0)
    parser.add_argument("--cpu-share", type=float, default=1.0)
    parser.add_argument("--burst-seconds", type=float, default=1.0)
    parser.add_argument("--nice", type=int, default=0)
    options = parser.parse_args()
    limit = options.memory_mb
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit * 1024 * 1024, limit * 1024 * 1024))
    if options.nice:
        os.nice(options.nice)  # rendering is background work: requests come first
    render = make_renderer()
    throttle = Throttle(options.cpu_share, options.burst_seconds)
    throttle.start()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        body = read_frame(stdin)
        if body is None:
            return
        throttle.reset()
        try:
            reply = b"\x00" + render(json.loads(body))
        except MemoryError:
            # the address space is spent: answer what happened, then end (the service replaces
            # the process: an interpreter that ran out of memory is not trusted further)
            write_frame(stdout, b"\x02the document needs more memory than a renderer may use")
            return
        except Exception:
            reply = b"\x01" + traceback.format_exc(limit=3).encode()
        try:
            write_frame(stdout, reply)
        except BrokenPipeError:  # the service went away: nobody is waiting for the answer
            return


if __name__ == "__main__":
    main()
