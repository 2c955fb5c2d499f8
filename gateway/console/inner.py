"""The console's way to the services: the gateway's own ``/api/v1``, called in process.

A page never calls a service itself.  It asks the API, with the signed-in person's token, as a
client would; so authentication, tenant isolation, validation, idempotency and the rule checks
at the edge are the API's, in one place, and a page and an API call can never disagree.  The
call is an ASGI call into the same application (no socket, no serialisation beyond the JSON
the API answers anyway).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from starlette.types import ASGIApp, Message

PREFIX = "/api/v1"
PASSED_HEADERS = (b"content-type", b"content-disposition", b"content-length", b"retry-after")


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class ApiError(Exception):
    """A refusal the API answered with: its status and ``{"code", "message", "details"}``."""

    status: int
    code: str
    message: str
    details: Any = None
    headers: dict[bytes, bytes] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    def field_problems(self) -> dict[str, str]:
        """Validation problems by form field (``address.city``): the pydantic type of each."""
        problems: dict[str, str] = {}
        if self.code != "validation_error" or not isinstance(self.details, list):
            return problems
        for item in self.details:
            if not isinstance(item, dict):
                continue
            location = [str(part) for part in item.get("loc", []) if part not in ("body", "query")]
            if location:
                problems.setdefault(".".join(location), str(item.get("type", "")))
        return problems


@dataclass
class Upload:
    field: str
    filename: str
    content_type: str
    data: bytes


class Api:
    """Calls ``/api/v1`` of ``app`` as the holder of ``token`` (``None``: anonymous)."""

    def __init__(self, app: ASGIApp, token: str | None, client: tuple[str, int] | None,
                 request_id: str | None) -> None:
        self.app = app
        self.token = token
        self.client = client
        self.request_id = request_id

    def _scope(self, method: str, path: str, query: Mapping[str, Any] | None,
               headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
        full = PREFIX + path
        kept = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        if self.token:
            headers.append((b"authorization", f"Bearer {self.token}".encode()))
        if self.request_id:
            headers.append((b"x-request-id", self.request_id.encode()))
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": full, "raw_path": full.encode(),
            "query_string": urlencode(kept, doseq=True).encode(), "root_path": "",
            "headers": headers, "client": self.client, "server": ("console", 80),
            # the page's own access-log line covers the call, under the page's request id
            "state": {"inner": True, "request_id": self.request_id or uuid.uuid4().hex},
        }

    async def request(self, method: str, path: str, *, body: Any = None,
                      query: Mapping[str, Any] | None = None, key: str | None = None,
                      upload: Upload | None = None, form: Mapping[str, str] | None = None) -> Answer:
        headers: list[tuple[bytes, bytes]] = [(b"accept", b"application/json")]
        payload = b""
        if upload is not None:
            payload, content_type = multipart(upload, form or {})
            headers.append((b"content-type", content_type.encode()))
        elif body is not None:
            payload = json.dumps(body).encode()
            headers.append((b"content-type", b"application/json"))
        headers.append((b"content-length", str(len(payload)).encode()))
        if key:
            headers.append((b"idempotency-key", key.encode()))
        scope = self._scope(method, path, query, headers)
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # the client stays connected until the answer
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        status, answer_headers, chunks = 500, {}, []

        async def send(message: Message) -> None:
            nonlocal status, answer_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                answer_headers = dict(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return Answer(status, answer_headers, b"".join(chunks))

    async def stream(self, path: str, query: Mapping[str, Any] | None = None
                     ) -> tuple[int, dict[bytes, bytes], AsyncIterator[bytes]]:
        """A GET whose body is relayed as it comes (file downloads)."""
        scope = self._scope("GET", path, query, [])
        queue: asyncio.Queue[Message | None] = asyncio.Queue(maxsize=8)

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def run() -> None:
            try:
                await self.app(scope, receive, queue.put)
            finally:
                await queue.put(None)

        task = asyncio.create_task(run())
        start = await queue.get()
        if start is None or start["type"] != "http.response.start":
            await task
            return 500, {}, _empty()
        kept = {k: v for k, v in start.get("headers", []) if k in PASSED_HEADERS}

        async def body() -> AsyncIterator[bytes]:
            try:
                while (message := await queue.get()) is not None:
                    if message["type"] == "http.response.body":
                        yield message.get("body", b"")
                        if not message.get("more_body", False):
                            break
            finally:
                task.cancel()

        return start["status"], kept, body()

    async def answer(self, method: str, path: str, **kw: Any) -> Any:
        """The JSON of a success; a refusal raises ``ApiError``."""
        found = await self.request(method, path, **kw)
        if found.status >= 400:
            raise error_of(found)
        return found.json()

    async def get(self, path: str, **query: Any) -> Any:
        return await self.answer("GET", path, query=query)

    async def post(self, path: str, body: Any = None, key: str | None = None) -> Any:
        return await self.answer("POST", path, body=body if body is not None else {}, key=key)

    async def put(self, path: str, body: Any) -> Any:
        return await self.answer("PUT", path, body=body)

    async def patch(self, path: str, body: Any) -> Any:
        return await self.answer("PATCH", path, body=body)

    async def delete(self, path: str) -> Any:
        return await self.answer("DELETE", path)


async def _empty() -> AsyncIterator[bytes]:
    if False:  # pragma: no cover - an empty async generator
        yield b""


def error_of(found: Answer) -> ApiError:
    try:
        error = found.json()["error"]
        return ApiError(found.status, str(error["code"]), str(error.get("message", "")),
                        error.get("details"), found.headers)
    except (ValueError, KeyError, TypeError):
        return ApiError(found.status, "service_error", "the request failed", None, found.headers)


def multipart(upload: Upload, fields: Mapping[str, str]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    filename = upload.filename.replace('"', "").replace("\r", "").replace("\n", "")
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{upload.field}"; '
                 f'filename="{filename}"\r\nContent-Type: {upload.content_type}\r\n\r\n'.encode()
                 + upload.data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
