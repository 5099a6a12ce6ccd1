"""Canned replies: saved answers an agent inserts into the reply box.

An organization's replies (no agent) are shared by every agent and kept by admins; an
agent's own are theirs alone. A body is Markdown with a few placeholders, filled by plain
substitution from a fixed list: a body is never evaluated as a template, so `{{ 7*7 }}` or
`{% for %}` stays the text it is.
"""

import re

from sqlalchemy import or_, select

from .extensions import db
from .models import Agent, CannedReply, Ticket
from .validation import InvalidValue

MAX_TITLE = 120
MAX_BODY = 16 * 1024
PICKER_SIZE = 20

PLACEHOLDERS = {
    "customer.name": lambda ticket, agent: (ticket.customer.name or "") if ticket.customer else "",
    "customer.email": lambda ticket, agent: (ticket.customer.email or "") if ticket.customer else "",
    "ticket.reference": lambda ticket, agent: ticket.reference,
    "ticket.subject": lambda ticket, agent: ticket.subject,
    "agent.name": lambda ticket, agent: agent.name,
}
PLACEHOLDER = re.compile(r"\{\{\s*([a-z]+\.[a-z]+)\s*\}\}")


def fill(body: str, ticket: Ticket, agent: Agent) -> str:
    """The body with every known placeholder replaced; anything else is left as written."""

    def replace(match: re.Match) -> str:
        value = PLACEHOLDERS.get(match.group(1))
        return match.group(0) if value is None else value(ticket, agent)

    return PLACEHOLDER.sub(replace, body)


def visible_to(agent: Agent, query: str = "") -> list[CannedReply]:
    """The organization's replies and the agent's own, by title, matching `query` if given."""
    statement = (
        select(CannedReply)
        .where(
            CannedReply.org_id == agent.org_id,
            or_(CannedReply.agent_id.is_(None), CannedReply.agent_id == agent.id),
        )
        .order_by(CannedReply.title, CannedReply.id)
    )
    words = query.strip()[:100]
    if words:
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(
            or_(CannedReply.title.ilike(pattern, escape="\\"), CannedReply.body.ilike(pattern, escape="\\"))
        )
    return list(db.session.scalars(statement))


def get_for(agent: Agent, public_id: str) -> CannedReply | None:
    """A reply the agent can see, or None (another agent's or organization's is not found)."""
    reply = db.session.scalar(select(CannedReply).where(CannedReply.public_id == public_id))
    if reply is None or reply.org_id != agent.org_id:
        return None
    if reply.agent_id is not None and reply.agent_id != agent.id:
        return None
    return reply


def can_edit(agent: Agent, reply: CannedReply) -> bool:
    return reply.agent_id == agent.id if reply.agent_id is not None else agent.is_admin


def _checked(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    if not title:
        raise InvalidValue("title", "Give the reply a title.")
    if len(title) > MAX_TITLE:
        raise InvalidValue("title", f"A title has at most {MAX_TITLE} characters.")
    if not body:
        raise InvalidValue("body", "Write the reply.")
    if len(body) > MAX_BODY:
        raise InvalidValue("body", f"A reply has at most {MAX_BODY // 1024} KiB.")
    return title, body


def create(agent: Agent, title: str, body: str, *, shared: bool) -> CannedReply:
    """A new reply: the organization's (admins only) or the agent's own."""
    if shared and not agent.is_admin:
        raise InvalidValue("shared", "Only admins keep the organization's replies.")
    title, body = _checked(title, body)
    reply = CannedReply(org_id=agent.org_id, agent_id=None if shared else agent.id, title=title, body=body)
    db.session.add(reply)
    db.session.flush()
    return reply


def update(agent: Agent, reply: CannedReply, title: str, body: str) -> None:
    if not can_edit(agent, reply):
        raise PermissionError(reply.public_id)
    reply.title, reply.body = _checked(title, body)


def delete(agent: Agent, reply: CannedReply) -> None:
    if not can_edit(agent, reply):
        raise PermissionError(reply.public_id)
    db.session.delete(reply)
