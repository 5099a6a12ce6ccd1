"""Response headers that every page carries, and who may log in."""

from flask import Flask, request
from sqlalchemy import bindparam, select

from .extensions import db, login_manager
from .models import Agent

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


# Every signed-in request loads its agent: the statement is built once (see db.execute).
ACTIVE_AGENT = select(Agent).where(Agent.public_id == bindparam("public_id"), Agent.active.is_(True))


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    @login_manager.user_loader
    def load_agent(public_id: str) -> Agent | None:
        return db.session.scalar(ACTIVE_AGENT, {"public_id": public_id})

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
