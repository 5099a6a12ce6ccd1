"""`/profile`: every agent's own name and password."""

from flask import request
from flask_login import current_user
from werkzeug.security import check_password_hash

from .. import accounts, admin_log, auth
from ..db import write_transaction
from ..extensions import db
from ..htmx import render
from ..models import Agent
from ..validation import InvalidValue


def _page(status: int = 200, **context):
    context.setdefault("form", {"name": current_user.name})
    return render("desk/profile.html", "desk/_profile.html", status, **context)


def profile():
    """The signed-in agent's name and password."""
    return _page()


def save_name():
    """Change one's own name."""
    form = {"name": request.form.get("name", "")}
    try:
        with write_transaction():
            agent = db.session.get(Agent, current_user.id)
            changed = accounts.update_agent(agent, form, admin_log.web())
    except InvalidValue as error:
        db.session.rollback()
        return _page(422, form=form, error=error)
    return _page(saved="Name saved." if changed else "Nothing changed.")


def save_password():
    """Change one's own password (the current one required); other sign-ins end."""
    current, new = request.form.get("current_password", ""), request.form.get("new_password", "")
    try:
        with write_transaction():
            agent = db.session.get(Agent, current_user.id)
            if not check_password_hash(agent.password_hash, current):
                raise InvalidValue("current_password", "That is not your current password")
            try:
                accounts.set_password(agent, new, admin_log.web(), keep_session=auth.current_session_id())
            except InvalidValue as error:
                raise InvalidValue("new_password", error.message) from None
    except InvalidValue as error:
        db.session.rollback()
        return _page(422, error=error)
    return _page(saved="Password changed; your other sign-ins have ended.")
