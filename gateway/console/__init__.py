"""The web console: server-rendered pages of the same gateway, on the API's own rules.

``install`` adds the customer's cabinet, the operators' back office (``/admin``), the static
files and the pages for refusals that reach no form (404, a missing CSRF token, a service that
is away).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway import errors
from gateway.console import admin, customer
from gateway.console.inner import ApiError
from gateway.console.web import CsrfRefused, NotFoundPage, Redirect, Visit
from services.documents.i18n import gettext

STATIC = Path(__file__).resolve().parent / "static"


def error_page(request: Request, status: int, heading: str, text: str) -> Response:
    visit = Visit(request)
    return visit.render("error.html", status, heading=gettext(visit.language, heading),
                        text=gettext(visit.language, text))


def not_found(request: Request) -> Response:
    return error_page(request, 404, "Not found",
                      "There is nothing here, or it is not yours to see.")


def install(app: FastAPI) -> None:
    app.include_router(customer.router)
    app.include_router(admin.router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, error: StarletteHTTPException) -> Response:
        """A page that does not exist is the console's 404 page for a browser; the API's
        answers, and any client that does not ask for HTML, stay JSON."""
        api_path = request.url.path.startswith(("/api/", "/payments/", "/healthz"))
        browser = "text/html" in request.headers.get("accept", "")
        if error.status_code in (404, 405) and browser and not api_path:
            return not_found(request)
        return errors.http_error_response(error)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        """A page that fails unexpectedly says so in the console's layout (and is logged)."""
        if "text/html" not in request.headers.get("accept", "") or request.url.path.startswith("/api/"):
            return errors.unexpected_response(error)
        errors.log.error("unexpected error on a page", exc_info=error)
        return error_page(request, 500, "Something went wrong",
                          "Something went wrong on our side. Nothing was changed; please try again.")

    @app.exception_handler(Redirect)
    async def _redirect(request: Request, error: Redirect) -> Response:
        return Visit(request).redirect(error.to)

    @app.exception_handler(NotFoundPage)
    async def _missing(request: Request, _: NotFoundPage) -> Response:
        return not_found(request)

    @app.exception_handler(CsrfRefused)
    async def _csrf(request: Request, _: CsrfRefused) -> Response:
        return error_page(request, 403, "This form has expired",
                          "Go back, reload the page and send the form again.")

    @app.exception_handler(ApiError)
    async def _refused(request: Request, error: ApiError) -> Response:
        if error.status == 401:
            visit = Visit(request)
            visit.set_cookie("bc_session", "", None)
            return visit.redirect(f"/login?next={request.url.path}")
        if error.status in (403, 404):
            return not_found(request)
        if error.status >= 500:
            return error_page(request, 503, "Please try again shortly",
                              "A part of the service is not available right now, or it is taking "
                              "longer than usual. What you asked for may still be under way: look "
                              "again in a minute before repeating it.")
        visit = Visit(request)
        return visit.render("error.html", error.status,
                            heading=gettext(visit.language, "This cannot be done"),
                            text=visit.message(error))
