"""The admin API: categories, tags and routing rules, for teams that configure by script.

Every route needs a key with scope `admin`, except listing tags, which Supportdesk clients
need for `tagIds` and so any key may do. The services are the admin pages' own (catalog.py,
rules.py): the same validation, the same audit rows, one write transaction per request.
"""

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, g, jsonify
from sqlalchemy import select

from .. import admin_log, catalog, rules
from ..db import write_transaction
from ..extensions import db
from ..models import Category, KeyScope, RoutingRule, Tag
from ..validation import InvalidValue
from . import schemas
from .context import read_body
from .errors import ApiError, isoformat

bp = Blueprint("admin", __name__, url_prefix="/v1")

# The API's names for the rule vocabulary of routing.py, which is snake_case.
FIELDS = {"customerEmailDomain": "customer_email_domain"}
ACTIONS = {
    "setCategory": "set_category",
    "setPriority": "set_priority",
    "addTags": "add_tags",
    "targetLevel": "target_level",
    "assignAgent": "assign_agent",
}
ACTIONS_OUT = {inner: outer for outer, inner in ACTIONS.items()}
FIELDS_OUT = {inner: outer for outer, inner in FIELDS.items()}


def admin_only(view: Callable) -> Callable:
    """403 FORBIDDEN for a key whose scope is not `admin`."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if g.key_scope != KeyScope.ADMIN:
            raise ApiError(403, "FORBIDDEN", "This route needs an API key with scope admin")
        return view(*args, **kwargs)

    return guarded


def changer() -> admin_log.Changer:
    return admin_log.Changer(label=f"API key {g.key_name}", source="api")


def created(data: dict):
    return jsonify({"success": True, "data": data}), 201


def ok(data):
    return jsonify({"success": True, "data": data})


# --- Categories and tags ------------------------------------------------------------------


def category_out(category: Category) -> dict:
    return {
        "id": category.public_id,
        "name": category.name,
        "archived": category.archived_at is not None,
        "createdAt": isoformat(category.created_at),
    }


def tag_out(tag: Tag) -> dict:
    return {"id": tag.public_id, "name": tag.name, "createdAt": isoformat(tag.created_at)}


@bp.get("/categories")
@admin_only
def list_categories():
    """The organization's categories by name, archived ones last."""
    found = db.session.scalars(
        select(Category)
        .where(Category.org_id == g.org_id)
        .order_by(Category.archived_at.is_not(None), Category.name)
    )
    return ok([category_out(category) for category in found])


@bp.post("/categories")
@admin_only
def create_category():
    payload, _ = read_body(schemas.NewCategory)
    with write_transaction():
        category = catalog.create_category(g.org_id, payload.name, changer())
        data = category_out(category)
    return created(data)


@bp.get("/tags")
def list_tags():
    """The organization's tags by name, with the ids `tagIds` takes (any key may list them)."""
    found = db.session.scalars(select(Tag).where(Tag.org_id == g.org_id).order_by(Tag.name))
    return ok([tag_out(tag) for tag in found])


@bp.post("/tags")
@admin_only
def create_tag():
    payload, _ = read_body(schemas.NewTag)
    with write_transaction():
        data = tag_out(catalog.create_tag(g.org_id, payload.name, changer()))
    return created(data)


# --- Routing rules ------------------------------------------------------------------------


def rule_out(rule: RoutingRule, place: int) -> dict:
    conditions = []
    for condition in rule.conditions or []:
        shown = {
            "field": FIELDS_OUT.get(condition["field"], condition["field"]),
            "op": condition["op"],
            "value": condition["value"],
        }
        if "key" in condition:
            shown["key"] = condition["key"]
        conditions.append(shown)
    actions = rule.actions or {}
    return {
        "id": rule.public_id,
        "name": rule.name,
        "position": place,
        "active": rule.active,
        "stop": rule.stop,
        "conditions": conditions,
        "actions": {outer: actions.get(inner) for inner, outer in ACTIONS_OUT.items()},
        "createdAt": isoformat(rule.created_at),
    }


def draft_of(payload: schemas.NewRule | schemas.RuleChange, rule: RoutingRule | None = None) -> dict:
    """The rule in routing.py's words: the saved rule, changed by what the request gives."""
    draft = {
        "name": rule.name if rule else None,
        "conditions": list(rule.conditions or []) if rule else [],
        "actions": dict(rule.actions or {}) if rule else {},
        "stop": rule.stop if rule else False,
        "active": rule.active if rule else True,
    }
    given = payload.model_fields_set
    for name in ("name", "stop", "active"):
        if name in given and getattr(payload, name) is not None:
            draft[name] = getattr(payload, name)
    if "conditions" in given and payload.conditions is not None:
        draft["conditions"] = [
            {**condition.model_dump(exclude_none=True), "field": FIELDS.get(condition.field, condition.field)}
            for condition in payload.conditions
        ]
    if "actions" in given and payload.actions is not None:
        for outer in payload.actions.model_fields_set:
            value = getattr(payload.actions, outer)
            if value is None:
                draft["actions"].pop(ACTIONS[outer], None)
            else:
                draft["actions"][ACTIONS[outer]] = value
    return draft


def validated(draft: dict) -> rules.RuleSpec:
    """rules.validate, its field names said as the API says them."""
    try:
        return rules.validate(g.org_id, draft)
    except InvalidValue as error:
        field = error.field
        head, _, action = field.partition(".")
        if head == "actions" and action in ACTIONS_OUT:
            field = f"actions.{ACTIONS_OUT[action]}"
        raise InvalidValue(field, error.message) from None


def one_rule(public_id: str) -> RoutingRule:
    """The organization's rule with this id; another organization's is a 404."""
    try:
        public_id = schemas.storable(public_id)[:36]
    except ValueError:
        public_id = ""
    rule = db.session.scalar(
        select(RoutingRule).where(RoutingRule.org_id == g.org_id, RoutingRule.public_id == public_id)
    )
    if rule is None:
        raise ApiError(404, "NOT_FOUND", "No routing rule with that id")
    return rule


@bp.get("/routing-rules")
@admin_only
def list_rules():
    """The rules in the order they are evaluated."""
    return ok([rule_out(rule, place) for place, rule in enumerate(rules.rules_of(g.org_id))])


@bp.post("/routing-rules")
@admin_only
def create_rule():
    payload, _ = read_body(schemas.NewRule)
    with write_transaction():
        rule = rules.create_rule(g.org_id, validated(draft_of(payload)), changer())
        if payload.position is not None:
            rules.move_to(rule, payload.position, changer())
        data = rule_out(rule, rules.place_of(rule))
    return created(data)


@bp.get("/routing-rules/<public_id>")
@admin_only
def get_rule(public_id: str):
    rule = one_rule(public_id)
    return ok(rule_out(rule, rules.place_of(rule)))


@bp.patch("/routing-rules/<public_id>")
@admin_only
def change_rule(public_id: str):
    payload, _ = read_body(schemas.RuleChange)
    with write_transaction():
        rule = one_rule(public_id)
        rules.update_rule(rule, validated(draft_of(payload, rule)), changer())
        if payload.position is not None:
            rules.move_to(rule, payload.position, changer())
        data = rule_out(rule, rules.place_of(rule))
    return ok(data)


@bp.delete("/routing-rules/<public_id>")
@admin_only
def delete_rule(public_id: str):
    """Delete a rule; the tickets it routed keep what it did."""
    with write_transaction():
        rule = one_rule(public_id)
        data = {"id": rule.public_id, "name": rule.name}
        rules.delete_rule(rule, changer())
    return ok(data)
