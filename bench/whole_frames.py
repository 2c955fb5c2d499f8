"""A service run with the renderer pipe read whole: ``python -m bench.whole_frames documents``.

``rendering.RendererProcess`` reads a reply with ``read_frame``, whose ``stream.read(length)``
on eventlet's green pipe (a raw ``GreenFileIO``) is one ``read(2)``: it returns at most what the
pipe holds, 64 KiB, so a PDF larger than that comes back cut short and the rest of it is taken
for the next reply.  ``bench.documents`` finds out whether that is still so, and if it is, runs
its renderer pools, and the product's documents service through this module, with
``read_whole_frame`` in its place — the change it proposes — so that the figures are those of
the service as it would be, said so in its output.  Nothing else differs from ``services.run``.
"""

from __future__ import annotations

import struct
import sys
from typing import IO


def read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """``size`` bytes, read as often as the pipe needs; ``None`` if it ends first."""
    parts = []
    while size:
        part = stream.read(size)
        if not part:
            return None
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def read_whole_frame(stream: IO[bytes]) -> bytes | None:
    """``renderer_worker.read_frame``, reading the length and the body whole."""
    header = read_exactly(stream, 4)
    if header is None:
        return None
    (length,) = struct.unpack(">I", header)
    return read_exactly(stream, length)


def main() -> int:
    from services import run  # patches the standard library for eventlet first, as it always does
    from services.documents import rendering

    rendering.read_frame = read_whole_frame
    return run.main()


if __name__ == "__main__":
    sys.exit(main())
