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
render's time.
"""

from __future__ import annotations

import argparse
import json
import resource
import signal
import struct
import sys
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


def main() -> None:
    # Ctrl-C reaches the whole process group; the documents service ends this process itself
    # (closing the pipe or killing it), so the interrupt is not ours to act on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory-mb", type=int, default=0)
    limit = parser.parse_args().memory_mb
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit * 1024 * 1024, limit * 1024 * 1024))
    render = make_renderer()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        body = read_frame(stdin)
        if body is None:
            return
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
