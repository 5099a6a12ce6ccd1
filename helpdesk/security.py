"""Response headers that every page carries, and who may log in."""

from flask import Flask, request

from . import auth
from .extensions import login_manager

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)



def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    # The session cookie names a server-side sign-in (auth.py), not the agent.
    login_manager.id_attribute = "get_session_key"
    login_manager.user_loader(auth.load_session)
    login_manager.request_loader(auth.load_remembered)
    app.after_request(auth.set_remember_cookie)

    @app.after_request
    def add_security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("X-Frame-Options", "DENY")
        # Nothing but the static files is cached: pages carry agents' work and CSRF tokens,
        # API answers carry customers' data. (Deciding by path, not by who is signed in,
        # spares API requests loading a user they don't have.)
        if not request.path.startswith("/static/"):
            headers.setdefault("Cache-Control", "no-store")
        return response
