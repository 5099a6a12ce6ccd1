"""Sign in and out: server-side sessions, remember tokens, failed attempts throttled
through the database."""

import hashlib
import hmac
import logging
import math
import secrets
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from . import htmx, logs
from .db import is_sqlite, write_transaction
from .extensions import db
from .models import Agent, AgentSession, LoginAttempt, utcnow

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


# Sessions. The signed session cookie carries a random key (Flask-Login's `_user_id`);
# agent_sessions keeps its SHA-256 and says whether that sign-in still holds. A
# "keep me signed in" sign-in also gets the `remember_token` cookie, "<session id>.<secret>",
# which restores the session once the browser has dropped the session cookie; each use
# replaces both the key and the secret.

REMEMBER_COOKIE = "remember_token"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=current_app.config[name])


def start_session(agent: Agent, *, remember: bool = False, address: str | None = None) -> str | None:
    """Begin a sign-in for `agent` in the caller's write transaction; sets `agent.session_key`.

    Returns the remember cookie's value when `remember`, else None.
    """
    now = utcnow()
    key = secrets.token_urlsafe(32)
    secret = secrets.token_urlsafe(32) if remember else None
    row = AgentSession(
        agent_id=agent.id,
        key_hash=_digest(key),
        remember_hash=_digest(secret) if secret else None,
        remember_until=now + _seconds("REMEMBER_SECONDS") if remember else None,
        address=(address or "")[:64] or None,
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(row)
    db.session.flush()
    agent.session_key, agent.session_id = key, row.id
    return f"{row.id}.{secret}" if secret else None


def _alive(row: AgentSession, now: datetime) -> bool:
    """Whether a sign-in still holds: not ended, within its timeouts."""
    if row.ended_at is not None:
        return False
    if row.remember_until is not None:
        return now < row.remember_until
    return (
        now - row.last_seen_at < _seconds("SESSION_IDLE_SECONDS")
        and now - row.created_at < _seconds("SESSION_MAX_SECONDS")
    )


SESSION_BY_KEY = (
    select(AgentSession, Agent)
    .join(Agent, Agent.id == AgentSession.agent_id)
    .where(AgentSession.key_hash == bindparam("key_hash"), Agent.active.is_(True))
)


def load_session(key: str) -> Agent | None:
    """Flask-Login's user loader: the agent of a sign-in that still holds."""
    found = db.session.execute(SESSION_BY_KEY, {"key_hash": _digest(key)}).one_or_none()
    if found is None:
        return None
    row, agent = found
    now = utcnow()
    if not _alive(row, now):
        return None
    session_id = row.id
    if now - row.last_seen_at >= _seconds("SESSION_TOUCH_SECONDS"):
        with write_transaction():
            db.session.execute(
                update(AgentSession).where(AgentSession.id == session_id).values(last_seen_at=now)
            )
    agent.session_key, agent.session_id = key, session_id
    return agent


def load_remembered(request_) -> Agent | None:
    """Flask-Login's request loader: restore a remembered sign-in, replacing its key and secret."""
    cookie = request_.cookies.get(REMEMBER_COOKIE)
    if not cookie:
        return None
    session_id, _, secret = cookie.partition(".")
    g.remember_cookie = None  # whatever happens below, a cookie that fails is cleared
    if not session_id.isdigit() or not secret:
        return None
    now = utcnow()
    with write_transaction():
        row = db.session.get(AgentSession, int(session_id))
        if (
            row is None
            or row.remember_hash is None
            or not hmac.compare_digest(row.remember_hash, _digest(secret))
            or not _alive(row, now)
        ):
            return None
        agent = db.session.get(Agent, row.agent_id)
        if agent is None or not agent.active:
            return None
        key, new_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        row.key_hash, row.remember_hash, row.last_seen_at = _digest(key), _digest(new_secret), now
        session_id = row.id
    session["_user_id"] = key
    session["_fresh"] = False
    g.remember_cookie = f"{session_id}.{new_secret}"
    agent.session_key, agent.session_id = key, session_id
    return agent


def set_remember_cookie(response):
    """after_request: write or clear the remember cookie this request decided on."""
    if "remember_cookie" not in g:
        return response
    value = g.pop("remember_cookie")
    config = current_app.config
    if value is None and REMEMBER_COOKIE not in request.cookies:
        return response
    if value is None:
        response.delete_cookie(
            REMEMBER_COOKIE, httponly=True, secure=config["REMEMBER_COOKIE_SECURE"],
            samesite=config["REMEMBER_COOKIE_SAMESITE"],
        )
        return response
    response.set_cookie(
        REMEMBER_COOKIE,
        value,
        max_age=config["REMEMBER_SECONDS"],
        httponly=config["REMEMBER_COOKIE_HTTPONLY"],
        secure=config["REMEMBER_COOKIE_SECURE"],
        samesite=config["REMEMBER_COOKIE_SAMESITE"],
    )
    return response


def current_session_id() -> int | None:
    """The agent_sessions id of the signed-in request, if any (for `end_sessions(keep=...)`)."""
    if not current_user.is_authenticated:
        return None
    return current_user.session_id


def end_sessions(agent: Agent | int, *, keep: int | None = None) -> int:
    """End every sign-in of `agent` and its remember token, except the session `keep`.

    Runs in the caller's write transaction (a password change, a deactivation); returns
    how many sessions it ended.
    """
    agent_id = agent if isinstance(agent, int) else agent.id
    statement = (
        update(AgentSession)
        .where(AgentSession.agent_id == agent_id, AgentSession.ended_at.is_(None))
        .values(ended_at=utcnow(), remember_hash=None)
    )
    if keep is not None:
        statement = statement.where(AgentSession.id != keep)
    return db.session.execute(statement).rowcount


SESSIONS_KEPT = timedelta(days=7)  # how long a sign-in that no longer holds stays on record


def forget_sessions() -> int:
    """Delete the sign-ins that have not held for SESSIONS_KEPT (ended, remembered past
    their date, or past a timeout); the worker runs it every minute. How many went."""
    before = utcnow() - SESSIONS_KEPT
    unremembered = AgentSession.remember_until.is_(None) & AgentSession.ended_at.is_(None)
    with write_transaction():
        result = db.session.execute(
            delete(AgentSession).where(
                (AgentSession.ended_at < before)
                | (AgentSession.remember_until < before)
                | (unremembered & (AgentSession.last_seen_at < before - _seconds("SESSION_IDLE_SECONDS")))
                | (unremembered & (AgentSession.created_at < before - _seconds("SESSION_MAX_SECONDS")))
            )
        )
    return result.rowcount


def _end_session(session_id: int) -> None:
    db.session.execute(
        update(AgentSession)
        .where(AgentSession.id == session_id)
        .values(ended_at=utcnow(), remember_hash=None)
    )


# Sign-in attempts are counted in login_attempts, which every gunicorn worker shares, under
# two keys: the account together with the address it is tried from, and the address alone.
# The pair gets LOGIN_MAX_FAILURES tries; then each further failure locks it for twice as
# long as the one before (LOGIN_LOCKOUT_SECONDS, doubling up to LOGIN_LOCKOUT_MAX_SECONDS),
# and it is forgotten after LOGIN_FAILURES_KEPT_SECONDS without a failure. Someone guessing
# from elsewhere thus slows only their own pair: the agent's right password from their own
# address still works. The address alone is locked for LOGIN_LOCKOUT_SECONDS after
# LOGIN_MAX_FAILURES_PER_ADDRESS failures across accounts.
#
# An attempt is counted *before* its password is checked, in the same write transaction
# that checks the locks, so that concurrent attempts cannot all pass one check; a right
# password then takes its count back.


def _pair_key(email: str, address: str | None) -> str:
    return f"pair:{address or 'unknown'}|{email}"[:300]


def _address_key(address: str | None) -> str:
    return f"addr:{address or 'unknown'}"[:300]


def _counter(key: str, now: datetime, kept: timedelta) -> LoginAttempt:
    """The key's row, locked for this transaction, its count reset if older than `kept`."""
    query = select(LoginAttempt).where(LoginAttempt.key == key)
    if not is_sqlite():
        query = query.with_for_update()  # SQLite already holds the write lock
    attempt = db.session.scalar(query)
    if attempt is None:
        attempt = _insert_attempt(key, query)
    if now - attempt.window_start > kept:
        attempt.failures, attempt.window_start, attempt.locked_until = 0, now, None
    return attempt


def begin_attempt(email: str, address: str | None) -> int | None:
    """Count one sign-in attempt for the pair and the address, or say how many seconds to wait.

    Runs its own write transaction; call before checking the password.
    """
    config = current_app.config
    now = utcnow()
    kept = timedelta(seconds=config["LOGIN_FAILURES_KEPT_SECONDS"])
    address_window = timedelta(seconds=config["LOGIN_LOCKOUT_SECONDS"])
    with write_transaction():
        pair = _counter(_pair_key(email, address), now, kept)
        by_address = _counter(_address_key(address), now, address_window)
        locks = [row.locked_until for row in (pair, by_address) if row.locked_until]
        wait = max((lock - now for lock in locks), default=timedelta(0))
        if wait > timedelta(0):
            return max(1, math.ceil(wait.total_seconds()))
        pair.failures, pair.window_start = pair.failures + 1, now  # kept from the last one
        by_address.failures += 1
        over = pair.failures - config["LOGIN_MAX_FAILURES"]
        if over >= 0:
            delay = min(
                config["LOGIN_LOCKOUT_SECONDS"] * 2 ** min(over, 30),
                config["LOGIN_LOCKOUT_MAX_SECONDS"],
            )
            pair.locked_until = now + timedelta(seconds=delay)
            logs.security_event("sign-in-locked", logging.WARNING, email=email, seconds=delay)
        if by_address.failures >= config["LOGIN_MAX_FAILURES_PER_ADDRESS"]:
            by_address.locked_until = now + address_window
            logs.security_event(
                "address-locked", logging.WARNING, seconds=config["LOGIN_LOCKOUT_SECONDS"]
            )
    return None


def _insert_attempt(key: str, query) -> LoginAttempt:
    """Create the counter row; on PostgreSQL a concurrent insert of the same key is fine."""
    if is_sqlite():
        attempt = LoginAttempt(key=key, failures=0, window_start=utcnow())
        db.session.add(attempt)
        db.session.flush()
        return attempt
    from sqlalchemy.dialects.postgresql import insert

    db.session.execute(
        insert(LoginAttempt)
        .values(key=key, failures=0, window_start=utcnow())
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return db.session.scalar(query)


def forgive_attempt(email: str, address: str | None) -> None:
    """A right password: forget the pair's failures, and take back the address's count."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.key == _pair_key(email, address)))
    db.session.execute(
        update(LoginAttempt)
        .where(LoginAttempt.key == _address_key(address), LoginAttempt.failures > 0)
        .values(failures=LoginAttempt.failures - 1)
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a valid email and password."""
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        address = request.remote_addr
        wait = begin_attempt(email, address)
        if wait is not None:
            logs.security_event("sign-in-throttled", logging.WARNING, email=email, wait=wait)
            response = render_template("auth/login.html", form=form, error=THROTTLED), 429
            return *response, {"Retry-After": str(wait)}
        agent = db.session.scalar(select(Agent).where(Agent.email == email))
        password_hash = agent.password_hash if agent else _dummy_hash()
        password_ok = check_password_hash(password_hash, form.password.data)
        if password_ok and agent and agent.active:
            with write_transaction():
                forgive_attempt(email, address)
                agent.last_sign_in_at = utcnow()
                g.remember_cookie = start_session(
                    agent, remember=form.remember.data, address=address
                )
            logs.security_event(
                "sign-in", agent=agent.public_id, org=agent.org.slug, session=agent.session_id,
                remember=bool(form.remember.data),
            )
            session.clear()  # nothing from before sign-in carries over
            login_user(agent)
            return redirect(safe_next(request.args.get("next")), code=303)
        logs.security_event(
            "sign-in-failed", logging.WARNING, email=email,
            agent=agent.public_id if agent else None,
            reason="inactive" if password_ok and agent else "credentials",
        )
        error, status = WRONG_CREDENTIALS, 401
    elif form.is_submitted():
        error, status = "Enter your email and password.", 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out: end this sign-in and its remember token."""
    session_id = current_session_id()
    if session_id is not None:
        with write_transaction():
            _end_session(session_id)
    logs.security_event("sign-out", agent=current_user.public_id, session=session_id)
    g.remember_cookie = None
    logout_user()
    if htmx.is_partial():
        return htmx.redirect(url_for("auth.login"))
    return redirect(url_for("auth.login"), code=303)
