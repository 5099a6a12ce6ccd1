"""`/admin/settings`, `/admin/classifier` and `/admin/audit`: the organization's own settings,
what the classifier learnt, and the log of every admin change."""

from datetime import UTC, datetime

from flask import abort, current_app, request
from flask_login import current_user
from sqlalchemy import func, select

from .. import admin_log, classify, org_settings
from ..db import write_transaction
from ..extensions import db
from ..models import AdminEvent, Category, Organization, Ticket
from ..tickets import month_start
from ..validation import InvalidValue
from . import PAGE_SIZE, bp, page

MAX_AUDIT_PAGE = 10_000


def _org() -> Organization:
    return db.session.get(Organization, current_user.org_id)


def _used_this_month(org: Organization) -> int:
    return db.session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.org_id == org.id, Ticket.created_at >= month_start(datetime.now(UTC))
        )
    )


def _settings_page(status: int = 200, form: dict | None = None, **context):
    org = _org()
    if form is None:
        form = {field: getattr(org, field) for field in org_settings.FIELDS}
        form = {field: "" if value is None else str(value) for field, value in form.items()}
    return page(
        "admin/_settings.html", "Settings", status, org=org, form=form, used=_used_this_month(org), **context
    )


@bp.get("/settings")
def settings():
    """The organization's name, ticket prefix, monthly quota and Slack URL."""
    return _settings_page()


@bp.post("/settings")
def save_settings():
    """Change the organization's settings; nothing is written unless every field is valid."""
    form = {field: request.form.get(field, "") for field in org_settings.FIELDS}
    allow_private = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    try:
        wanted = org_settings.parse(form, allow_private=allow_private)
        with write_transaction():
            changed = org_settings.update(_org(), wanted, admin_log.web())
    except InvalidValue as error:
        db.session.rollback()
        return _settings_page(422, form=form, error=error)
    return _settings_page(saved="Saved." if changed else "Nothing changed.")


@bp.post("/settings/slack-test")
def slack_test():
    """Queue a test message to the saved Slack URL (the worker sends it)."""
    try:
        with write_transaction():
            org_settings.queue_slack_test(_org(), admin_log.web())
    except InvalidValue as error:
        db.session.rollback()
        return _settings_page(422, error=error)
    return _settings_page(saved="Test message queued; the Outbox shows when it is delivered.")


def _classifier_page(status: int = 200, **context):
    org = _org()
    threshold = classify.threshold(org.classifier_threshold)
    classify.model(org.id)  # so that "last trained" names a model this process has
    counts = classify.examples_per_category(org.id)
    names = dict(
        db.session.execute(select(Category.id, Category.name).where(Category.org_id == org.id)).all()
    )
    per_category = sorted(
        ((names.get(category_id, "?"), n) for category_id, n in counts.items()),
        key=lambda row: (-row[1], row[0]),
    )
    context.setdefault("form", {"threshold": f"{threshold:g}"})
    return page(
        "admin/_classifier.html", "Categorisation", status,
        threshold=threshold, per_category=per_category, examples=sum(counts.values()),
        accuracy=classify.accuracy(org.id, threshold), needed=classify.MIN_HELD_OUT * 5,
        trained_at=classify.trained_at(org.id), min_examples=classify.MIN_EXAMPLES, **context,
    )  # fmt: skip


@bp.get("/classifier")
def classifier():
    """What the classifier learnt from, how well it does, and its confidence threshold."""
    return _classifier_page()


@bp.post("/classifier")
def save_classifier():
    """Change the confidence threshold (0 to 1)."""
    form = {"threshold": request.form.get("threshold", "")}
    try:
        value = org_settings.parse_threshold(form["threshold"])
        with write_transaction():
            org = _org()
            current = classify.threshold(org.classifier_threshold)
            changed = org_settings.set_threshold(org, value, current, admin_log.web())
    except InvalidValue as error:
        db.session.rollback()
        return _classifier_page(422, form=form, error=error)
    return _classifier_page(saved="Saved." if changed else "Nothing changed.")


def _page_number() -> int:
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_AUDIT_PAGE:
        abort(404)
    return int(raw)


@bp.get("/audit")
def audit_log():
    """Every change made on the admin pages, the admin API and the CLI, newest first."""
    number = _page_number()
    query = select(AdminEvent).where(AdminEvent.org_id == current_user.org_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    if number > pages:
        abort(404)
    events = db.session.scalars(
        query.order_by(AdminEvent.id.desc()).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)
    ).all()
    return page("admin/_audit.html", "Audit log", events=events, number=number, pages=pages, total=total)
