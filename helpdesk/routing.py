"""Routing rules: ordered conditions → actions, evaluated on every new ticket.

A rule's `conditions` is a list; all must hold. Each condition is
`{"field": F, "op": "contains"|"equals", "value": V}` where F is `subject`, `description`,
`priority`, `category`, `customer_email_domain`, or `metadata` (with a `key`).
A rule's `actions` may hold `set_category` (name), `set_priority` (LOW…CRITICAL),
`add_tags` (names), `target_level` (N1/N2/N3) and `assign_agent` (an agent's email).
A matching rule with `stop` set ends the evaluation.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, select

from .db import execute
from .models import Level, Priority, RoutingRule

FIELDS = ("subject", "description", "priority", "category", "customer_email_domain", "metadata")
OPS = ("contains", "equals")


@dataclass
class TicketFacts:
    """What rules look at."""

    subject: str
    description: str
    priority: str
    category: str | None
    customer_email: str | None
    metadata: dict


@dataclass
class Routing:
    """What the matching rules decided, to be applied by the ticket service."""

    category: str | None = None
    priority: Priority | None = None
    tags: list[str] = field(default_factory=list)
    level: Level | None = None
    agent_email: str | None = None
    matched: list[str] = field(default_factory=list)


def _value(facts: TicketFacts, condition: dict) -> str:
    name = condition.get("field")
    if name == "customer_email_domain":
        email = facts.customer_email or ""
        return email.rpartition("@")[2]
    if name == "metadata":
        value = facts.metadata.get(condition.get("key", ""))
        return "" if value is None else str(value)
    return str(getattr(facts, name, "") or "")


def matches(condition: dict, facts: TicketFacts) -> bool:
    """Whether one condition holds; text comparisons ignore case."""
    actual = _value(facts, condition).casefold()
    expected = str(condition.get("value", "")).casefold()
    if condition.get("op") == "equals":
        return actual == expected
    return expected in actual


# Every creation reads them: the columns evaluation needs, as rows, not models.
ACTIVE_RULES = (
    select(RoutingRule.name, RoutingRule.conditions, RoutingRule.actions, RoutingRule.stop)
    .where(RoutingRule.org_id == bindparam("org_id"), RoutingRule.active.is_(True))
    .order_by(RoutingRule.position, RoutingRule.id)
)


def route(org_id: int, facts: TicketFacts) -> Routing:
    """Evaluate the organization's active rules in order."""
    return evaluate(execute(ACTIVE_RULES, {"org_id": org_id}), facts)


def evaluate(rules: Iterable, facts: TicketFacts) -> Routing:
    """Apply `rules` (anything with `name`, `conditions`, `actions`, `stop`), in order."""
    result = Routing()
    for rule in rules:
        if not all(matches(condition, facts) for condition in rule.conditions or []):
            continue
        actions = rule.actions or {}
        result.matched.append(rule.name)
        if actions.get("set_category"):
            result.category = actions["set_category"]
        if actions.get("set_priority") in Priority.__members__:
            result.priority = Priority(actions["set_priority"])
        result.tags.extend(actions.get("add_tags") or [])
        if actions.get("target_level") in Level.__members__:
            result.level = Level(actions["target_level"])
        if actions.get("assign_agent"):
            result.agent_email = actions["assign_agent"]
        if rule.stop:
            break
    return result
