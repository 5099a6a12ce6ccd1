"""`/admin/mail`: mail that could not be taken in, with the reason and its start."""

from flask import abort, request
from flask_login import current_user
from sqlalchemy import func, select

from ..extensions import db
from ..models import IngestFailure
from . import PAGE_SIZE, bp, page


@bp.get("/mail")
def mail_failures():
    """The organization's failed inbound mail, newest first."""
    number = request.args.get("page", 1, type=int)
    query = select(IngestFailure).where(IngestFailure.org_id == current_user.org_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    pages = max(1, -(-total // PAGE_SIZE))
    if not 1 <= number <= pages:
        abort(404)
    failures = db.session.scalars(
        query.order_by(IngestFailure.id.desc()).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)
    ).all()
    return page(
        "admin/_mail.html", "Inbound mail", failures=failures, number=number, pages=pages, total=total
    )
