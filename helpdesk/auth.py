"""Sign in and out."""

import secrets
from functools import cache
from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from .extensions import db
from .models import Agent

bp = Blueprint("auth", __name__)

@cache
def _dummy_hash() -> str:
    """Checked when the email is unknown, so that both failures cost the same."""
    return generate_password_hash(secrets.token_hex(16))


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in")


def _safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes to the queues."""
    if not target:
        return url_for("desk.queue")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("desk.queue")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; sign in on a valid email and password."""
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        agent = db.session.scalar(db.select(Agent).where(Agent.email == email))
        password_hash = agent.password_hash if agent else _dummy_hash()
        if check_password_hash(password_hash, form.password.data) and agent and agent.active:
            login_user(agent, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")), code=303)
        error = "Wrong email or password."
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    """Sign out."""
    logout_user()
    return redirect(url_for("auth.login"), code=303)
