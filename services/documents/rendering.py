"""A pool of long-lived rendering processes, used from green threads without blocking the hub.

Each process imports WeasyPrint once and then renders request after request (see
``renderer_worker``).  Talking to it goes through green pipes, so a worker waiting for a PDF
lets every other greenthread run.  A process that dies or overruns its time is replaced.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import eventlet
from eventlet.green import subprocess
from eventlet.queue import LightQueue
from nameko.extensions import DependencyProvider

from services.common.config import load_settings
from services.documents.renderer_worker import read_frame, write_frame


class RenderFailed(Exception):
    """The document could not be rendered (a template or content problem)."""


class RendererLost(RenderFailed):
    """The rendering process died or overran its time; it is replaced."""


@dataclass(frozen=True)
class Limits:
    """What a renderer process may use: address space, a share of a core past a burst, and
    its priority (see ``renderer_worker``)."""

    memory_mb: int = 0
    cpu_share: float = 1.0
    burst_seconds: float = 0.3
    nice: int = 0

    def arguments(self) -> list[str]:
        return ["--memory-mb", str(self.memory_mb), "--cpu-share", str(self.cpu_share),
                "--burst-seconds", str(self.burst_seconds), "--nice", str(self.nice)]


class RendererProcess:
    def __init__(self, limits: Limits) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "services.documents.renderer_worker", *limits.arguments()],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def render(self, request: dict[str, Any]) -> bytes:
        write_frame(self.process.stdin, json.dumps(request).encode())
        reply = read_frame(self.process.stdout)
        if reply is None:
            raise RendererLost("the rendering process ended unexpectedly")
        if reply[:1] == b"\x02":  # out of memory: the process has ended itself
            raise RendererLost(reply[1:].decode(errors="replace"))
        if reply[:1] != b"\x00":
            raise RenderFailed(reply[1:].decode(errors="replace"))
        return reply[1:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.alive():
            self.process.kill()
        self.process.wait()


class RendererPool:
    """``render(template, context, language=, variant=, facturx=)`` on the next idle process;
    one that overruns ``timeout`` seconds or runs out of memory is killed and replaced
    (``RendererLost``)."""

    def __init__(self, size: int, timeout: float = 120.0, memory_mb: int = 0,
                 limits: Limits | None = None) -> None:
        self.timeout = timeout
        self.limits = limits or Limits(memory_mb=memory_mb)
        self._idle: LightQueue = LightQueue()
        self._all: list[RendererProcess] = []
        for _ in range(size):
            self._add()

    def _add(self) -> None:
        process = RendererProcess(self.limits)
        self._all.append(process)
        self._idle.put(process)

    def render(self, template: str, context: dict[str, Any], language: str = "en",
               variant: str | None = None, facturx: str | None = None) -> bytes:
        return self._ask({"template": template, "context": context, "language": language,
                          "variant": variant, "facturx": facturx})

    def merge(self, parts: list[str], target: str) -> None:
        """Join the PDF files ``parts`` into ``target``, in a renderer process."""
        self._ask({"op": "merge", "parts": parts, "target": target})

    def _ask(self, request: dict[str, Any]) -> bytes:
        process: RendererProcess = self._idle.get()
        try:
            with eventlet.Timeout(self.timeout, RendererLost("rendering timed out")):
                pdf = process.render(request)
        except RendererLost:
            self._replace(process)
            raise
        except RenderFailed:  # a clean error reply: the process is still in step
            self._idle.put(process)
            raise
        except BaseException:  # interrupted mid-conversation: the pipe is out of step
            self._replace(process)
            raise
        self._idle.put(process)
        return pdf

    def _replace(self, process: RendererProcess) -> None:
        self._all.remove(process)
        process.close()
        self._add()

    def close(self) -> None:
        for process in self._all:
            process.close()
        self._all.clear()


class Renderer(DependencyProvider):
    """Gives workers the pool: ``render(template, context, ...) -> bytes`` and ``merge``."""

    def setup(self) -> None:
        self.pool: RendererPool | None = None

    def start(self) -> None:
        settings = load_settings()
        self.pool = RendererPool(settings.renderer_processes, settings.render_timeout, limits=Limits(
            memory_mb=settings.render_memory_mb, cpu_share=settings.render_cpu_share,
            burst_seconds=settings.render_burst_seconds, nice=settings.render_nice))

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.close()

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> RendererPool:
        assert self.pool is not None
        return self.pool
