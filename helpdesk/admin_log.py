"""The admin audit log: one row for every change made on the admin pages, through the admin
API or the CLI, written in the change's own transaction."""

from dataclasses import dataclass

from flask_login import current_user

from .extensions import db
from .models import AdminEvent, Agent


@dataclass(frozen=True)
class Changer:
    """Who changes a setting, and from where ("web", "api" or "cli")."""

    label: str
    source: str
    agent_id: int | None = None

    @classmethod
    def of(cls, agent: Agent) -> "Changer":
        return cls(label=agent.name, source="web", agent_id=agent.id)


def web() -> Changer:
    """The signed-in admin, on the admin pages."""
    return Changer.of(current_user)


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def record(
    org_id: int, changer: Changer, action: str, target: str, old: object = None, new: object = None
) -> None:
    """Append one change to the organization's admin log (inside the caller's transaction)."""
    db.session.add(
        AdminEvent(
            org_id=org_id,
            actor_id=changer.agent_id,
            actor_label=changer.label[:120],
            source=changer.source,
            action=action[:40],
            target=target[:255],
            old_value=_text(old),
            new_value=_text(new),
        )
    )
