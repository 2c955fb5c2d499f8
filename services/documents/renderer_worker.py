"""A rendering process: reads requests on stdin, writes PDFs on stdout.

Runs outside the eventlet hub (WeasyPrint is CPU-bound).  Framing, both ways: a 4-byte
big-endian length, then the body.  A request body is JSON ``{"template", "context"}``; a
reply body is one status byte (``0`` PDF follows, ``1`` an error message follows) and the
payload.  Only packaged templates and assets are ever read: the URL fetcher refuses anything
outside ``templates/``, so a document cannot make the renderer fetch from the network.
"""

from __future__ import annotations

import json
import signal
import struct
import sys
import traceback
from pathlib import Path
from typing import IO, Any

TEMPLATES = Path(__file__).resolve().parent / "templates"


def read_frame(stream: IO[bytes]) -> bytes | None:
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack(">I", header)
    return stream.read(length)


def write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def make_renderer() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    class PackagedAssetsOnly(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("file:"):
                raise ValueError(f"refusing to fetch {url}")
            path = Path(url.removeprefix("file://")).resolve()
            if TEMPLATES not in path.parents:
                raise ValueError(f"refusing to read {path}")
            return super().fetch(url, headers)

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    base_url = TEMPLATES.as_uri() + "/"

    def render(template: str, context: dict[str, Any]) -> bytes:
        html = env.get_template(template).render(**context)
        document = HTML(string=html, base_url=base_url, url_fetcher=PackagedAssetsOnly())
        return document.write_pdf()

    return render


def main() -> None:
    # Ctrl-C reaches the whole process group; the documents service ends this process itself
    # (closing the pipe or killing it), so the interrupt is not ours to act on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    render = make_renderer()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        body = read_frame(stdin)
        if body is None:
            return
        try:
            request = json.loads(body)
            reply = b"\x00" + render(request["template"], request["context"])
        except Exception:
            reply = b"\x01" + traceback.format_exc(limit=3).encode()
        try:
            write_frame(stdout, reply)
        except BrokenPipeError:  # the service went away: nobody is waiting for the answer
            return


if __name__ == "__main__":
    main()
