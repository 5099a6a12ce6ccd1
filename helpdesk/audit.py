"""The audit trail: who changed what on a ticket, from what, to what."""

from dataclasses import dataclass

from .db import add_rows
from .models import Agent, TicketEvent, TicketLike


@dataclass(frozen=True)
class Actor:
    """Who acts: an agent, or a named system part (an API key, a routing rule)."""

    label: str
    agent: Agent | None = None

    @classmethod
    def of(cls, agent: Agent) -> "Actor":
        return cls(label=agent.name, agent=agent)


SYSTEM = Actor(label="Helpdesk")


def record(
    ticket: TicketLike,
    actor: Actor,
    action: str,
    field: str | None = None,
    old: object = None,
    new: object = None,
) -> None:
    """Append one event to the ticket's timeline."""
    add_rows(
        TicketEvent,
        dict(
            org_id=ticket.org_id,
            ticket_id=ticket.id,
            actor_id=actor.agent.id if actor.agent else None,
            actor_label=actor.label[:120],
            action=action,
            field=field,
            old_value=None if old is None else str(old)[:255],
            new_value=None if new is None else str(new)[:255],
        ),
    )
