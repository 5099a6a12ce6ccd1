"""Administration: the delivery outbox and outgoing webhooks of the admin's organization."""

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .. import htmx, webhooks
from .. import outbox as outbox_service
from ..db import write_transaction
from ..extensions import db
from ..htmx import fragment, render
from ..models import OutboxMessage, OutboxStatus, Webhook
from ..validation import InvalidValue
from . import PAGE_SIZE, bp, page

LAST_PAGE = 10_000  # beyond it a page number is a typo, not a page


def _status_arg() -> OutboxStatus:
    try:
        return OutboxStatus(request.args.get("status", OutboxStatus.PENDING))
    except ValueError:
        abort(422, description="status: choose pending, failed or sent.")


@bp.get("/outbox")
def outbox():
    """The organization's deliveries: pending, failed with their error, or sent."""
    status = _status_arg()
    page = request.args.get("page", 1, type=int)
    if not 1 <= page <= LAST_PAGE:
        abort(422, description=f"page: a page number from 1 to {LAST_PAGE}.")
    org_rows = select(OutboxMessage).where(OutboxMessage.org_id == current_user.org_id)
    newest_first = OutboxMessage.id.desc()
    messages = list(
        db.session.scalars(
            org_rows.where(OutboxMessage.status == status)
            .order_by(newest_first)
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    more = len(messages) > PAGE_SIZE
    messages = messages[:PAGE_SIZE]
    counts = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .where(OutboxMessage.org_id == current_user.org_id)
            .group_by(OutboxMessage.status)
        ).all()
    )
    tickets = outbox_service.tickets_of(current_user.org_id, messages)
    return render(
        "admin/outbox.html",
        "admin/_outbox.html",
        shown=status,
        page_number=page,
        more=more,
        counts={s: counts.get(s, 0) for s in OutboxStatus},
        messages=[(m, outbox_service.describe(m, tickets)) for m in messages],
    )


@bp.post("/outbox/<int:message_id>/retry")
def retry(message_id: int):
    """Queue a failed delivery again, from its first attempt."""
    with write_transaction():
        message = db.session.get(OutboxMessage, message_id)
        if message is None or message.org_id != current_user.org_id:
            abort(404)
        if not outbox_service.retry(message):
            abort(422, description="Only failed deliveries can be retried.")
    if not htmx.is_partial():
        return redirect(url_for("admin.outbox", status="failed"), code=303)
    info = outbox_service.describe(message, outbox_service.tickets_of(current_user.org_id, [message]))
    return fragment("admin/_outbox_row.html", message=message, info=info)


@bp.post("/outbox/retry-failed")
def retry_failed():
    """Queue every failed delivery of the organization again."""
    with write_transaction():
        outbox_service.retry_all(current_user.org_id)
    return redirect(url_for("admin.outbox", status="pending"), code=303)


def _webhooks_page(status: int = 200, **context):
    context.setdefault("hooks", webhooks.org_webhooks(current_user.org))
    context.setdefault("events", webhooks.EVENTS)
    context.setdefault("form", {})
    return page("admin/_webhooks.html", "Webhooks", status, **context)


@bp.get("/webhooks")
def webhook_list():
    """The organization's outgoing webhooks, and a form to add one."""
    return _webhooks_page()


@bp.post("/webhooks")
def create_webhook():
    """Add a webhook; its signing secret is shown this once."""
    form = {
        "url": request.form.get("url", ""),
        "secret": request.form.get("secret", ""),
        "events": request.form.getlist("events"),
    }
    try:
        with write_transaction():
            hook = webhooks.create_webhook(
                current_user.org,
                form["url"],
                secret=form["secret"] or None,
                events=form["events"],
                allow_private=bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"]),
            )
    except InvalidValue as error:
        return _webhooks_page(422, form=form, error=error)
    return _webhooks_page(201, created=hook)


@bp.post("/webhooks/<public_id>/delete")
def delete_webhook(public_id: str):
    """Remove a webhook."""
    with write_transaction():
        hook = db.session.scalar(
            select(Webhook).where(Webhook.org_id == current_user.org_id, Webhook.public_id == public_id)
        )
        if hook is None:
            abort(404)
        webhooks.delete_webhook(hook)
    return redirect(url_for("admin.webhook_list"), code=303)
