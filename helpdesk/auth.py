"""Sign in and out, with failed attempts throttled through the database."""

import secrets
from datetime import timedelta
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from . import htmx
from .db import is_sqlite, write_transaction
from .extensions import db
from .models import Agent, LoginAttempt, utcnow

bp = Blueprint("auth", __name__)

WRONG_CREDENTIALS = "Wrong email or password."
THROTTLED = "Too many failed sign-ins. Wait a few minutes and try again."


@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so that both failures cost the same."""
    return generate_password_hash(secrets.token_hex(16))


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in")


def safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes to the queues."""
    if not target:
        return url_for("desk.queue")
    target = target.strip()
    parts = urlsplit(target)
    if (
        parts.scheme
        or parts.netloc
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(char) < 32 for char in target)
    ):
        return url_for("desk.queue")
    return target


def unauthorized():
    """Anonymous request to a page: htmx gets 401 + HX-Redirect, a browser the login page."""
    if request.headers.get("HX-Request"):
        # Back to the page the fragment belongs to, not to the fragment's own URL.
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        here = page.path + (f"?{page.query}" if page.query else "")
        if page.netloc != request.host or not here.startswith("/"):
            here = url_for("desk.queue")
        return htmx.redirect(url_for("auth.login", next=safe_next(here)), 401)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def require_agent():
    """before_request guard for every blueprint of signed-in agents."""
    if not current_user.is_authenticated:
        return unauthorized()
    return None


# Failed sign-ins are counted per account and per address in login_attempts, so that
# every gunicorn worker sees the same count.


def _throttle_keys(email: str, address: str | None) -> dict[str, int]:
    """Each counted key and how many failures lock it."""
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    return {
        f"email:{email}"[:300]: limit,
        f"addr:{address or 'unknown'}"[:300]: current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
    }


def is_throttled(keys: dict[str, int]) -> bool:
    """Whether any of the keys is locked right now."""
    now = utcnow()
    rows = db.session.scalars(select(LoginAttempt).where(LoginAttempt.key.in_(keys))).all()
    return any(row.locked_until and row.locked_until > now for row in rows)


def record_failure(keys: dict[str, int]) -> None:
    """Count one failed sign-in against each key; lock a key that reaches its limit."""
    now = utcnow()
    window = timedelta(seconds=current_app.config["LOGIN_LOCKOUT_SECONDS"])
    for key, limit in keys.items():
        query = select(LoginAttempt).where(LoginAttempt.key == key)
        if not is_sqlite():
            query = query.with_for_update()  # SQLite already holds the write lock
        attempt = db.session.scalar(query)
        if attempt is None:
            attempt = _insert_attempt(key, query)
        if now - attempt.window_start > window:
            attempt.failures, attempt.window_start, attempt.locked_until = 0, now, None
        attempt.failures += 1
        if attempt.failures >= limit:
            attempt.locked_until = now + window
    db.session.flush()


def _insert_attempt(key: str, query) -> LoginAttempt:
    """Create the counter row; on PostgreSQL a concurrent insert of the same key is fine."""
    if is_sqlite():
        attempt = LoginAttempt(key=key, failures=0, window_start=utcnow())
        db.session.add(attempt)
        return attempt
    from sqlalchemy.dialects.postgresql import insert

    db.session.execute(
        insert(LoginAttempt)
        .values(key=key, failures=0, window_start=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return db.session.scalar(query)


def clear_failures(email: str) -> None:
    """A successful sign-in forgets the account's failures (not the address's)."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.key == f"email:{email}"[:300]))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a valid email and password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        keys = _throttle_keys(email, request.remote_addr)
        if is_throttled(keys):
            error, status = THROTTLED, 429
        else:
            agent = db.session.scalar(select(Agent).where(Agent.email == email))
            password_hash = agent.password_hash if agent else _dummy_hash()
            password_ok = check_password_hash(password_hash, form.password.data)
            if password_ok and agent and agent.active:
                with write_transaction():
                    clear_failures(email)
                    agent.last_sign_in_at = utcnow()
                login_user(agent, remember=form.remember.data)
                return redirect(safe_next(request.args.get("next")), code=303)
            with write_transaction():
                record_failure(keys)
            error, status = WRONG_CREDENTIALS, 401
    elif form.is_submitted():
        error, status = "Enter your email and password.", 422
    response = render_template("auth/login.html", form=form, error=error), status
    if status == 429:
        return *response, {"Retry-After": str(current_app.config["LOGIN_LOCKOUT_SECONDS"])}
    return response


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    logout_user()
    if htmx.is_partial():
        return htmx.redirect(url_for("auth.login"))
    return redirect(url_for("auth.login"), code=303)
