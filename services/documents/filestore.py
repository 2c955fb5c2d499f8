"""The file store: documents' bytes on a local (or mounted, shared) directory.

Files are written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from nameko.extensions import DependencyProvider

from services.common.config import load_settings


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, relative: str, content: bytes) -> tuple[str, int, str]:
        """Store ``content``; returns (relative path, size, sha256)."""
        target = self._resolve(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_bytes(content)
        os.replace(temporary, target)
        return relative, len(content), hashlib.sha256(content).hexdigest()

    def get(self, relative: str) -> bytes:
        return self._resolve(relative).read_bytes()

    def _resolve(self, relative: str) -> Path:
        path = (self.root / relative).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"{relative!r} is outside the file store")
        return path


class Files(DependencyProvider):
    def setup(self) -> None:
        self.store = FileStore(load_settings().files_dir)

    def get_dependency(self, worker_ctx: Any) -> FileStore:
        return self.store
