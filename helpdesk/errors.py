"""One renderer for errors: JSON for the API, a page or a fragment for people."""

import logging

from flask import Flask, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from . import htmx, logs
from .api import errors as api_errors
from .validation import InvalidValue

MESSAGES = {
    400: "The request could not be understood.",
    401: "Please sign in.",
    403: "You may not do that.",
    404: "Nothing here.",
    405: "That method is not allowed here.",
    413: "The request is too large.",
    422: "Some values are not valid.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def render_error(status: int, message: str | None = None):
    """Render an error for whoever asked: API client, htmx, or browser."""
    message = message or MESSAGES.get(status, "Error.")
    if _wants_json():
        return api_errors.for_status(status)
    if status == 401 and request.headers.get("HX-Request"):
        return htmx.redirect(url_for("auth.login", next=request.full_path), 401)
    template = "_error.html" if htmx.is_partial() else "error.html"
    return render_template(template, status=status, message=message), status


def _who() -> dict:
    """The signed-in agent (public id and organization), for a security event."""
    if current_user and current_user.is_authenticated:
        return {"agent": current_user.public_id, "org": current_user.org_id}
    return {}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        logs.security_event("csrf-refused", logging.WARNING, reason=error.description, **_who())
        return render_error(400, "The form expired or lacks its security token. Reload and retry.")

    @app.errorhandler(InvalidValue)
    def invalid_value(error: InvalidValue):
        """Bad input no view caught (e.g. a NUL in a query value): 400 naming the field."""
        if _wants_json():
            return api_errors.ApiError.invalid(
                [{"field": error.field, "message": error.message}]
            ).response()
        return render_error(400, f"{error.field}: {error.message}")

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code and error.code < 400:
            return error
        if error.code == 403:
            logs.security_event("forbidden", logging.WARNING, method=request.method, **_who())
        return render_error(error.code or 500, error.description if error.code == 422 else None)

    @app.errorhandler(Exception)
    def unexpected_error(error):
        # The path is the client's: log records escape its control characters (logs.py).
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(InternalServerError.code)
