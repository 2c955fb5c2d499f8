"""What every console page shares: who is visiting (the session cookie), their language, the
CSRF token of the forms, rendering, and the pages for the usual failures.

The session cookie holds the API's own bearer token (HMAC-signed, expiring, revocable: signing
out revokes it as ``POST /auth/logout`` does), HttpOnly and SameSite=Lax, Secure outside
development.  The JSON API never reads cookies, so the cookie authenticates pages only.

Every form carries a CSRF token: an HMAC of the visitor's random ``bc_csrf`` cookie and the
session's token id, so a token made for one session or browser is refused in another, and a
page on another site, which can neither read the cookie nor the page, cannot make one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

from babel.dates import format_datetime
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from starlette.datastructures import FormData, UploadFile

from gateway.auth import Principal
from gateway.console.inner import Api, ApiError
from services.common.errors import BusinessError
from services.documents import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates"
SESSION_COOKIE = "bc_session"
CSRF_COOKIE = "bc_csrf"
LANGUAGE_COOKIE = "bc_lang"
FLASH_COOKIE = "bc_flash"
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
            "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                       "style-src 'self'; script-src 'self'; "
                                       "form-action 'self' http: https:; frame-ancestors 'none'"}
FORM_MAX_FIELD = 4000


R = TypeVar("R", bound=Response)


class Redirect(Exception):
    def __init__(self, to: str) -> None:
        self.to = to


class CsrfRefused(Exception):
    pass


def _when(language: str) -> Any:
    locale = i18n.Formats(language).locale

    def when(value: Any) -> str:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        return format_datetime(moment, "short", locale=locale)

    return when


class ConstantMessages(Extension):
    """``_("a literal")`` becomes its translation when the template is compiled: an
    environment speaks one language, so a message without variables need not be looked up
    and formatted on every render (it was a tenth of a page's CPU).  The text is then an
    ordinary string, escaped like any other."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        language = str(self.environment.globals["language"])
        window: list[Token] = []
        for token in stream:
            window.append(token)
            if not _constant_call(window):
                *done, last = window
                yield from done
                window = [last] if (last.type, last.value) == ("name", "_") else []
                if not window:
                    yield last
            elif len(window) == 4:
                text = i18n.gettext(language, str(window[2].value)).replace("%%", "%")
                yield Token(window[0].lineno, "string", text)
                window = []
        yield from window


CONSTANT_CALL = (("name", "_"), ("lparen", None), ("string", None), ("rparen", None))


def _constant_call(window: list[Token]) -> bool:
    return all(token.type == kind and value in (None, token.value)
               for token, (kind, value) in zip(window, CONSTANT_CALL, strict=False))


@cache
def environment(language: str) -> Environment:
    env = i18n.environment(FileSystemLoader(TEMPLATES), language, autoescape=True)
    env.add_extension(ConstantMessages)
    formats = i18n.Formats(language)

    def cash(value: Any) -> str:
        if not value:
            return "—"
        return formats.money(value["amount"], value["currency"])

    env.filters.update(cash=cash, when=_when(language))
    env.globals["LANGUAGES"] = {"en": "English", "sv": "Svenska", "ru": "Русский"}
    return env


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path to go on to; anything else (another site, ``//host``) is ``default``."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def preferred_language(request: Request) -> str:
    chosen = request.cookies.get(LANGUAGE_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in i18n.LANGUAGES:
            return tag
    return "en"


class Visit:
    """One request to the console: the visitor, their language and the API on their behalf."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.language = preferred_language(request)
        self.token = request.cookies.get(SESSION_COOKIE)
        self.me: Principal | None = None
        if self.token:
            try:
                self.me = request.app.state.tokens.verify(f"Bearer {self.token}")
            except BusinessError:
                self.token = None
        self.csrf_seed = request.cookies.get(CSRF_COOKIE) or ""
        self._new_seed = None
        if len(self.csrf_seed) != 43:
            self._new_seed = self.csrf_seed = secrets.token_urlsafe(32)
        self.api = Api(request.app, self.token, request.scope.get("client"),
                       getattr(request.state, "request_id", None))
        self.cookies: list[tuple[str, str, int | None]] = []
        self.flash = request.cookies.get(FLASH_COOKIE)

    # -- who -----------------------------------------------------------------------------------

    def require_customer(self) -> Principal:
        if self.me is None:
            raise Redirect(f"/login?next={quote(self.request.url.path)}")
        if self.me.account_id is None:
            raise Redirect("/admin")
        return self.me

    def require_operator(self) -> Principal:
        if self.me is None:
            raise Redirect(f"/login?next={quote(self.request.url.path)}")
        if not self.me.is_operator:
            raise NotFoundPage()
        return self.me

    # -- forms ---------------------------------------------------------------------------------

    @property
    def csrf(self) -> str:
        session = self.me.token_id if self.me else ""
        secret = (self.request.app.state.settings.secret_key or "").encode()
        return hmac.new(secret, f"csrf|{self.csrf_seed}|{session}".encode(), hashlib.sha256).hexdigest()

    async def form(self) -> dict[str, str]:
        """The posted form's text fields, after its CSRF token is checked."""
        posted = await self.request.form()
        self.files = {k: v for k, v in posted.multi_items() if isinstance(v, UploadFile)}
        values = text_fields(posted)
        if self._new_seed is not None or not hmac.compare_digest(values.get("csrf", ""), self.csrf):
            raise CsrfRefused()
        self.lists = {k: [v for v in posted.getlist(k) if isinstance(v, str)] for k in posted}
        return values

    @staticmethod
    def request_key() -> str:
        """An Idempotency-Key for a creating form: the form carries it, so a resubmitted form
        answers what the first one did."""
        return uuid.uuid4().hex

    # -- answers -------------------------------------------------------------------------------

    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        from gateway.console.messages import notice

        env = environment(self.language)
        flash, self.flash = self.flash, None
        shown: dict[str, Any] = {
            "me": self.me, "csrf": self.csrf, "path": self.request.url.path,
            "here": self.request.url.path + (f"?{query}" if (query := self.request.url.query) else ""),
            "notice": notice(self.language, flash), "key": self.request_key(),
            "errors": {}, "problem": None, "values": {}, "part": None,
        }
        shown.update(context)
        page = env.get_template(template).render(shown)
        response = HTMLResponse(page, status_code=status, headers=NO_STORE)
        if flash is not None:
            self.set_cookie(FLASH_COOKIE, "", None)
        return self.finish(response)

    def refused(self, template: str, error: ApiError, values: Mapping[str, Any] | None = None,
                **context: Any) -> HTMLResponse:
        """The form again, with the refusal said at the top and next to its fields."""
        from gateway.console.messages import field_messages

        status = error.status if 400 <= error.status < 500 else 503
        return self.render(template, status, problem=self.message(error),
                           errors=field_messages(self.language, error), values=values or {},
                           **context)

    def redirect(self, to: str, flash: str | None = None) -> RedirectResponse:
        response = RedirectResponse(to, status_code=303, headers=NO_STORE)
        if flash:
            self.set_cookie(FLASH_COOKIE, flash, 60)
        return self.finish(response)

    def set_cookie(self, name: str, value: str, max_age: int | None) -> None:
        self.cookies.append((name, value, max_age))

    def finish(self, response: R) -> R:
        secure = self.request.app.state.settings.environment == "production"
        if self._new_seed is not None:
            response.set_cookie(CSRF_COOKIE, self._new_seed, httponly=True, samesite="lax",
                                secure=secure, path="/")
        for name, value, max_age in self.cookies:
            if value == "":
                response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=secure)
            else:
                response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                                    secure=secure, path="/")
        return response

    def message(self, error: ApiError) -> str:
        """The refusal in the visitor's language, by its code."""
        from gateway.console.messages import message_of

        return message_of(self.language, error)


class NotFoundPage(Exception):
    pass


def text_fields(posted: FormData) -> dict[str, str]:
    return {k: v[:FORM_MAX_FIELD].strip() for k, v in posted.items() if isinstance(v, str)}


def optional(values: Mapping[str, str], name: str) -> str | None:
    value = values.get(name, "").strip()
    return value or None
