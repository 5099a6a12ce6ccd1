"""Response headers that every page carries, and who may log in."""

from flask import Flask, abort, request

from . import auth, logs
from .extensions import login_manager
from .validation import InvalidValue

CSP = (
    # No remote images: a ticket's Markdown cannot make agents' browsers fetch from elsewhere.
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)

HSTS = "max-age=31536000"  # a year; sent only when BASE_URL is https (see config.load)


def check_request_values() -> None:
    """before_request: every query and form value is one a database can store.

    The API checks its JSON bodies field by field (api/schemas.py); this covers the rest.
    A path value holding a NUL names nothing that exists: 404, as any unknown reference.
    A NUL byte is refused with InvalidValue naming the field (a 400), before any view
    queries with it: PostgreSQL cannot hold one in text and would fail with a 500.
    """
    if any("\x00" in str(value) for value in (request.view_args or {}).values()):
        abort(404)
    sources = [request.args.items(multi=True)]
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.mimetype in (
        "application/x-www-form-urlencoded", "multipart/form-data"
    ):
        sources.append(request.form.items(multi=True))
    for items in sources:
        for name, value in items:
            if "\x00" in name:
                raise InvalidValue(logs.escape(name), "names must not contain NUL characters")
            if isinstance(value, str) and "\x00" in value:
                raise InvalidValue(name, "must not contain NUL characters")


def init_app(app: Flask) -> None:
    logs.init_app(app)
    # First of all the before_request functions: CSRF protection reads the form too.
    app.before_request_funcs.setdefault(None, []).insert(0, check_request_values)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # The session cookie names a server-side sign-in (auth.py), not the agent.
    login_manager.id_attribute = "get_session_key"
    login_manager.user_loader(auth.load_session)
    login_manager.request_loader(auth.load_remembered)
    app.after_request(auth.set_remember_cookie)

    hsts = app.config["BASE_URL"].lower().startswith("https://")

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if hsts:
            headers.setdefault("Strict-Transport-Security", HSTS)
        # Nothing but the static files is cached: pages carry agents' work and CSRF tokens,
        # API answers carry customers' data. (Deciding by path, not by who is signed in,
        # spares API requests loading a user they don't have.)
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        return response
