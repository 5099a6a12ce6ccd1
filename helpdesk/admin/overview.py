"""`/admin/`: every section, with a few live figures."""

from datetime import UTC, datetime

from flask_login import current_user
from sqlalchemy import func, select

from .. import classify
from ..extensions import db
from ..models import TICKET_IS_OPEN, Agent, Availability, OutboxMessage, OutboxStatus, Ticket
from ..tickets import month_start
from . import bp, page


def figures(org) -> dict:
    """What the overview shows, counted now."""
    org_id = org.id
    available = db.session.scalar(
        select(func.count(Agent.id)).where(
            Agent.org_id == org_id, Agent.active.is_(True), Agent.availability == Availability.AVAILABLE
        )
    )
    open_tickets = db.session.scalar(
        select(func.count(Ticket.id)).where(Ticket.org_id == org_id, TICKET_IS_OPEN)
    )
    this_month = db.session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.org_id == org_id, Ticket.created_at >= month_start(datetime.now(UTC))
        )
    )
    deliveries = dict(
        db.session.execute(
            select(OutboxMessage.status, func.count(OutboxMessage.id))
            .where(OutboxMessage.org_id == org_id, OutboxMessage.status != OutboxStatus.SENT)
            .group_by(OutboxMessage.status)
        ).all()
    )
    return {
        "available": available,
        "open": open_tickets,
        "this_month": this_month,
        "quota": org.monthly_quota,
        "pending": deliveries.get(OutboxStatus.PENDING, 0),
        "failed": deliveries.get(OutboxStatus.FAILED, 0),
        "trained_at": classify.trained_at(org_id),
    }


SECTIONS = [
    ("admin.agent_list", "Agents", "Who works the queues: roles, levels, capacity, sign-in."),
    ("admin.key_list", "API keys", "Keys for Supportdesk, Telemetron and scripts; revoke a leaked one."),
    ("admin.category_list", "Categories", "What tickets are about; rename, archive, merge."),
    ("admin.tag_list", "Tags", "Labels and their ids for Supportdesk's tagIds."),
    ("admin.rule_list", "Routing rules", "Conditions and actions applied to every new ticket."),
    ("admin.settings", "Settings", "Name, ticket prefix, monthly quota, Slack."),
    ("admin.classifier", "Categorisation", "What the classifier learnt, and its threshold."),
    ("admin.outbox", "Outbox", "Emails, Slack messages and webhooks on their way."),
    ("admin.webhook_list", "Webhooks", "Signed event deliveries to your systems."),
    ("admin.mail_failures", "Inbound mail", "Mail from customers that failed to ingest, and why."),
    ("admin.audit_log", "Audit log", "Every change made here, by whom, when."),
]


@bp.get("/")
def overview():
    """The admin's start page."""
    org = current_user.org
    return page("admin/_overview.html", "Overview", figures=figures(org), sections=SECTIONS)
