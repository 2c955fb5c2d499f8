"""The file store: documents' bytes on a local (or mounted, shared) directory.

Content-addressed: a file lives at ``<sha256[:2]>/<sha256>``, so the same bytes are stored
once and a name says what it must contain — every read checks it (``FileCorrupt`` otherwise).
Files are written to a temporary name and renamed, so a reader never sees half a file; a large
one is written in chunks as it is produced (``writer``) and read in chunks (``chunks``), so no
process ever holds a whole report.  The gateway reads the same store for downloads (the
documents service says which file an account may have); another store (an object store) would
implement the same four operations.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from services.common.errors import FileCorrupt

CHUNK = 256 * 1024


class StoredFile:
    """What ``put`` and ``writer`` leave behind: where the bytes are, how many, their hash."""

    def __init__(self, path: str, size: int, sha256: str) -> None:
        self.path, self.size, self.sha256 = path, size, sha256


class Writer:
    """Bytes written in parts, hashed as they come; ``stored`` once the block ends."""

    def __init__(self, store: FileStore) -> None:
        self._store = store
        self._digest = hashlib.sha256()
        self._size = 0
        store.root.mkdir(parents=True, exist_ok=True)
        self._temporary = store.root / f".incoming.{os.getpid()}.{uuid.uuid4().hex}.tmp"
        self._file: IO[bytes] = self._temporary.open("wb")
        self.stored: StoredFile | None = None

    def write(self, part: bytes) -> None:
        self._file.write(part)
        self._digest.update(part)
        self._size += len(part)

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, kind: Any, error: Any, trace: Any) -> None:
        self._file.close()
        if kind is not None:
            self._temporary.unlink(missing_ok=True)
            return
        sha256 = self._digest.hexdigest()
        relative = f"{sha256[:2]}/{sha256}"
        target = self._store.resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._temporary, target)
        self.stored = StoredFile(relative, self._size, sha256)


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, content: bytes) -> StoredFile:
        with self.writer() as writer:
            writer.write(content)
        assert writer.stored is not None
        return writer.stored

    def writer(self) -> Writer:
        return Writer(self)

    def get(self, relative: str, sha256: str | None) -> bytes:
        """The whole file, checked against its hash (``None``: a file stored before hashes)."""
        return b"".join(self.chunks(relative, sha256))

    def chunks(self, relative: str, sha256: str | None) -> Iterator[bytes]:
        """The file in chunks; the last is followed by the check, so a damaged file raises
        ``FileCorrupt`` before its stream ends — a reader never takes it as whole."""
        digest = hashlib.sha256()
        with self.resolve(relative).open("rb") as stored:
            while part := stored.read(CHUNK):
                digest.update(part)
                yield part
        if sha256 is not None and digest.hexdigest() != sha256:
            raise FileCorrupt(details={"path": relative})

    def remove(self, relative: str, unless_newer_than: float = 0) -> None:
        """Remove a file — unless it was written within ``unless_newer_than`` seconds (a
        writer that stored the same bytes again may be about to list them)."""
        path = self.resolve(relative)
        try:
            if unless_newer_than and time.time() - path.stat().st_mtime < unless_newer_than:
                return
            path.unlink()
        except FileNotFoundError:
            pass

    def blobs_older_than(self, seconds: float, batch: int) -> Iterator[list[str]]:
        """The stored files written more than ``seconds`` ago, as relative paths, in batches."""
        found: list[str] = []
        if not self.root.is_dir():
            return
        limit = time.time() - seconds
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or len(folder.name) != 2:
                continue
            for blob in folder.iterdir():
                if len(blob.name) == 64 and blob.stat().st_mtime < limit:
                    found.append(f"{folder.name}/{blob.name}")
                    if len(found) == batch:
                        yield found
                        found = []
        if found:
            yield found

    def resolve(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"{relative!r} is outside the file store")
        return path
