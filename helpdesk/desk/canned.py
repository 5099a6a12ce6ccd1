"""Canned replies: the page that keeps them and the picker on the reply box."""

from flask import abort, redirect, request, url_for
from flask_login import current_user

from .. import canned, htmx, tickets
from ..db import write_transaction
from ..extensions import db
from ..htmx import fragment, render
from ..validation import InvalidValue


def _page(status: int = 200, **context):
    context.setdefault("error", None)
    context.setdefault("form", {})
    query = request.args.get("q", "")
    return render(
        "desk/canned.html", "desk/_canned.html", status,
        replies=canned.visible_to(current_user, query), query=query,
        placeholders=list(canned.PLACEHOLDERS), can_edit=canned.can_edit, **context,
    )  # fmt: skip


def index():
    """The replies the agent can use: the organization's and their own."""
    return _page()


def _done():
    if htmx.is_partial():
        return _page()
    return redirect(url_for("desk.canned_replies"), code=303)


def create():
    form = request.form
    try:
        with write_transaction():
            canned.create(
                current_user, form.get("title", ""), form.get("body", ""),
                shared=form.get("shared") == "on",
            )  # fmt: skip
    except InvalidValue as error:
        return _page(422, error=error, form=form)
    return _done()


def _editable(public_id: str):
    reply = canned.get_for(current_user, public_id)
    if reply is None:
        abort(404)
    if not canned.can_edit(current_user, reply):
        abort(403)
    return reply


def update(public_id: str):
    form = request.form
    try:
        with write_transaction():
            reply = _editable(public_id)
            canned.update(current_user, reply, form.get("title", ""), form.get("body", ""))
    except InvalidValue as error:
        db.session.rollback()
        return _page(422, error=error, form=form, editing=public_id)
    return _done()


def delete(public_id: str):
    with write_transaction():
        canned.delete(current_user, _editable(public_id))
    return _done()


def picker(reference: str):
    """The replies matching what the agent typed, filled in for this ticket."""
    ticket = tickets.get_ticket_for(current_user, reference)
    replies = canned.visible_to(current_user, request.args.get("q", ""))[: canned.PICKER_SIZE]
    filled = [(reply, canned.fill(reply.body, ticket, current_user)) for reply in replies]
    return fragment("desk/ticket/_canned_picker.html", filled=filled, ticket=ticket)
