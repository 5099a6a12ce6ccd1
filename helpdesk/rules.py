"""Routing rules as an admin manages them: validate, create, edit, enable, reorder, delete, try.

A rule is written in routing.py's vocabulary (see its docstring). `validate` is the one check
for a rule, whoever sends it (the admin pages, the admin API); it raises InvalidValue
naming the bad field as `name`, `conditions.N.field|op|value|key` or `actions.<action>`.
Every change runs in the caller's write transaction and writes its admin log row there.
"""

import json
from dataclasses import dataclass

from sqlalchemy import func, select

from . import admin_log
from .db import lock_organization
from .extensions import db
from .models import Agent, Level, Priority, RoutingRule, name_key
from .routing import FIELDS, OPS, Routing, TicketFacts, evaluate
from .tickets import find_category
from .validation import InvalidValue

MAX_CONDITIONS = 20
MAX_TAGS = 20
MAX_VALUE = 200


@dataclass
class RuleSpec:
    """A valid rule, not yet (or not necessarily) saved; `evaluate` takes it as it is."""

    name: str
    conditions: list[dict]
    actions: dict
    stop: bool = False
    active: bool = True


def _condition(index: int, raw: dict) -> dict:
    prefix = f"conditions.{index}"
    name = str(raw.get("field") or "")
    if name not in FIELDS:
        raise InvalidValue(f"{prefix}.field", f"Unknown field {name!r}: use one of {', '.join(FIELDS)}")
    op = str(raw.get("op") or "")
    if op not in OPS:
        raise InvalidValue(f"{prefix}.op", f"Unknown operator {op!r}: use contains or equals")
    value = str(raw.get("value") or "").strip()
    if not value or len(value) > MAX_VALUE:
        raise InvalidValue(f"{prefix}.value", f"Value must be 1-{MAX_VALUE} characters")
    if name == "priority" and op == "equals":
        if value.upper() not in Priority.__members__:
            raise InvalidValue(
                f"{prefix}.value", f"Unknown priority {value!r}: use one of {', '.join(Priority)}"
            )
        value = value.upper()
    condition = {"field": name, "op": op, "value": value}
    if name == "metadata":
        key = str(raw.get("key") or "").strip()
        if not key or len(key) > 100:
            raise InvalidValue(f"{prefix}.key", "A metadata condition needs a key (1-100 characters)")
        condition["key"] = key
    return condition


def _actions(org_id: int, raw: dict) -> dict:
    unknown = set(raw) - {"set_category", "set_priority", "add_tags", "target_level", "assign_agent"}
    if unknown:
        raise InvalidValue(f"actions.{sorted(unknown)[0]}", "Unknown action")
    actions: dict = {}
    if category_name := str(raw.get("set_category") or "").strip():
        category = find_category(org_id, category_name)
        if category is None:
            raise InvalidValue("actions.set_category", f"No category {category_name!r} (or it is archived)")
        actions["set_category"] = category.name
    if priority := str(raw.get("set_priority") or "").strip():
        if priority.upper() not in Priority.__members__:
            raise InvalidValue(
                "actions.set_priority", f"Unknown priority {priority!r}: use one of {', '.join(Priority)}"
            )
        actions["set_priority"] = priority.upper()
    tags = raw.get("add_tags") or []
    if isinstance(tags, str):
        tags = tags.split(",")
    names = list(dict.fromkeys(str(tag).strip() for tag in tags if str(tag).strip()))
    if len(names) > MAX_TAGS or any(len(name) > 60 for name in names):
        raise InvalidValue("actions.add_tags", f"At most {MAX_TAGS} tags of 1-60 characters each")
    if names:
        actions["add_tags"] = names
    if level := str(raw.get("target_level") or "").strip():
        if level.upper() not in Level.__members__:
            raise InvalidValue(
                "actions.target_level", f"Unknown level {level!r}: use one of {', '.join(Level)}"
            )
        actions["target_level"] = level.upper()
    if email := str(raw.get("assign_agent") or "").strip().lower():
        agent = db.session.scalar(
            select(Agent).where(Agent.org_id == org_id, Agent.email == email, Agent.active.is_(True))
        )
        if agent is None:
            raise InvalidValue("actions.assign_agent", f"No active agent {email!r} in this organization")
        actions["assign_agent"] = agent.email
    return actions


def validate(org_id: int, draft: dict) -> RuleSpec:
    """The rule `draft` describes (`name`, `conditions`, `actions`, `stop`, `active`), checked."""
    name = str(draft.get("name") or "").strip()
    if not name or len(name) > 120:
        raise InvalidValue("name", "Name must be 1-120 characters")
    conditions = draft.get("conditions") or []
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        raise InvalidValue("conditions", f"At most {MAX_CONDITIONS} conditions")
    actions = draft.get("actions") or {}
    if not isinstance(actions, dict):
        raise InvalidValue("actions", "Actions must be an object")
    return RuleSpec(
        name=name,
        conditions=[
            _condition(index, raw if isinstance(raw, dict) else {}) for index, raw in enumerate(conditions)
        ],
        actions=_actions(org_id, actions),
        stop=bool(draft.get("stop")),
        active=bool(draft.get("active", True)),
    )


# Words for the list and the audit log


def _quoted(value: str) -> str:
    return f"“{value}”"


def describe_conditions(conditions: list[dict]) -> str:
    """ "subject contains “refund” and metadata plan equals “gold”", or "every ticket"."""
    if not conditions:
        return "every ticket"
    parts = []
    for condition in conditions:
        subject = condition["field"].replace("_", " ")
        if condition["field"] == "metadata":
            subject = f"metadata {condition.get('key', '')}"
        parts.append(f"{subject} {condition['op']} {_quoted(condition['value'])}")
    return " and ".join(parts)


def describe_actions(actions: dict, stop: bool = False) -> str:
    """ "category Billing; priority HIGH; tags vip, eu; level N2; assign ann@example.com"."""
    parts = []
    if actions.get("set_category"):
        parts.append(f"category {actions['set_category']}")
    if actions.get("set_priority"):
        parts.append(f"priority {actions['set_priority']}")
    if actions.get("add_tags"):
        parts.append(f"tags {', '.join(actions['add_tags'])}")
    if actions.get("target_level"):
        parts.append(f"level {actions['target_level']}")
    if actions.get("assign_agent"):
        parts.append(f"assign {actions['assign_agent']}")
    if stop:
        parts.append("then stop")
    return "; ".join(parts) or "nothing"


def describe(rule: RuleSpec | RoutingRule) -> str:
    """One line for the audit log."""
    state = "" if rule.active else " (disabled)"
    when = describe_conditions(rule.conditions or [])
    return f"if {when}: {describe_actions(rule.actions or {}, rule.stop)}{state}"


# Changes


def rules_of(org_id: int) -> list[RoutingRule]:
    """The organization's rules in evaluation order."""
    return list(
        db.session.scalars(
            select(RoutingRule)
            .where(RoutingRule.org_id == org_id)
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def create_rule(org_id: int, spec: RuleSpec, changer: admin_log.Changer) -> RoutingRule:
    """Add a rule after the organization's last one."""
    lock_organization(org_id)
    last = db.session.scalar(select(func.max(RoutingRule.position)).where(RoutingRule.org_id == org_id))
    rule = RoutingRule(
        org_id=org_id,
        name=spec.name,
        position=0 if last is None else last + 1,
        conditions=spec.conditions,
        actions=spec.actions,
        stop=spec.stop,
        active=spec.active,
    )
    db.session.add(rule)
    db.session.flush()
    admin_log.record(org_id, changer, "rule.created", spec.name, new=describe(spec))
    return rule


def update_rule(rule: RoutingRule, spec: RuleSpec, changer: admin_log.Changer) -> bool:
    """Replace the rule's name, conditions, actions, stop and active flags; False if all were so."""
    before = (rule.name, describe(rule))
    if before == (spec.name, describe(spec)):
        return False
    admin_log.record(rule.org_id, changer, "rule.updated", rule.name, describe(rule), describe(spec))
    rule.name, rule.conditions, rule.actions = spec.name, spec.conditions, spec.actions
    rule.stop, rule.active = spec.stop, spec.active
    db.session.flush()
    return True


def set_active(rule: RoutingRule, active: bool, changer: admin_log.Changer) -> bool:
    """Enable or disable a rule; a disabled rule is kept but not evaluated."""
    if rule.active == active:
        return False
    rule.active = active
    admin_log.record(rule.org_id, changer, "rule.enabled" if active else "rule.disabled", rule.name)
    db.session.flush()
    return True


def move_rule(rule: RoutingRule, offset: int, changer: admin_log.Changer) -> bool:
    """Move a rule one place up (-1) or down (+1)."""
    here = rules_of(rule.org_id).index(rule)
    return here + offset >= 0 and move_to(rule, here + offset, changer)


def move_to(rule: RoutingRule, place: int, changer: admin_log.Changer) -> bool:
    """Put a rule at `place` in the evaluation order (0 first; past the end means last);
    positions are renumbered 0…n-1. False if it was there already."""
    lock_organization(rule.org_id)
    ordered = rules_of(rule.org_id)
    here = ordered.index(rule)
    there = min(max(place, 0), len(ordered) - 1)
    if here == there:
        return False
    ordered.insert(there, ordered.pop(here))
    for position, each in enumerate(ordered):
        each.position = position
    admin_log.record(rule.org_id, changer, "rule.moved", rule.name, here + 1, there + 1)
    db.session.flush()
    return True


def place_of(rule: RoutingRule) -> int:
    """The rule's place in the evaluation order, 0 first."""
    return rules_of(rule.org_id).index(rule)


def delete_rule(rule: RoutingRule, changer: admin_log.Changer) -> None:
    """Delete a rule; the tickets it routed keep what it did and their timeline says so."""
    admin_log.record(rule.org_id, changer, "rule.deleted", rule.name, describe(rule))
    db.session.delete(rule)
    db.session.flush()


def follow_rename(org_id: int, action: str, old: str, new: str | None, changer: admin_log.Changer) -> int:
    """Rules whose `action` ("set_category" or "add_tags") names `old` name `new` instead, or
    drop it when `new` is None: a renamed, merged or deleted category or tag takes its rules
    along. Returns how many rules changed."""
    changed = 0
    for rule in rules_of(org_id):
        actions = dict(rule.actions or {})
        if action == "set_category":
            if name_key(actions.get(action) or "") != name_key(old):
                continue
            actions.pop(action)
            if new is not None:
                actions[action] = new
        else:
            tags = actions.get(action) or []
            if not any(name_key(tag) == name_key(old) for tag in tags):
                continue
            kept: dict[str, str] = {}
            for tag in (new if name_key(tag) == name_key(old) else tag for tag in tags):
                if tag is not None:
                    kept.setdefault(name_key(tag), tag)
            actions.pop(action)
            if kept:
                actions[action] = list(kept.values())
        before = describe(rule)
        rule.actions = actions
        admin_log.record(org_id, changer, "rule.updated", rule.name, before, describe(rule))
        db.session.flush()
        changed += 1
    return changed


# Try it


def parse_metadata(text: str) -> dict:
    """The try-it panel's metadata: a JSON object, or nothing."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidValue("metadata", f"Not JSON: {error}") from None
    if not isinstance(value, dict):
        raise InvalidValue("metadata", 'Metadata must be a JSON object, like {"plan": "gold"}')
    return value


def try_rules(
    org_id: int, facts: TicketFacts, draft: RuleSpec | None = None, replacing: int | None = None
) -> Routing:
    """Evaluate the organization's active rules on `facts`; with `draft`, in place of the saved
    rule `replacing` (its id), or after the last rule when it is a new one."""
    rules: list = []
    for rule in rules_of(org_id):
        if rule.id == replacing:
            rules.append(draft)
        else:
            rules.append(rule)
    if draft is not None and replacing is None:
        rules.append(draft)
    return evaluate([rule for rule in rules if rule is not None and rule.active], facts)
