"""`/admin/rules`: the organization's routing rules in order; create, edit, enable or disable,
move, delete, and try them on a ticket before a customer sends one."""

from flask import abort, request
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from .. import admin_log, rules
from ..db import write_transaction
from ..extensions import db
from ..models import Agent, Category, Level, Organization, Priority, RoutingRule
from ..routing import FIELDS, OPS, Routing, TicketFacts
from ..tickets import find_ticket
from ..validation import InvalidValue
from . import bp, page

ACTIONS = ("set_category", "set_priority", "add_tags", "target_level", "assign_agent")
CONDITION_PARTS = ("field", "op", "value", "key")
TRY_FIELDS = ("subject", "description", "priority", "category", "customer_email", "metadata", "ticket")


def _rule(public_id: str) -> RoutingRule:
    """The organization's rule with this id; another organization's is a 404."""
    rule = db.session.scalar(
        select(RoutingRule).where(
            RoutingRule.org_id == current_user.org_id, RoutingRule.public_id == public_id
        )
    )
    if rule is None:
        abort(404)
    return rule


def _choices() -> dict:
    """What the form's selects offer: the live categories and the active agents."""
    org_id = current_user.org_id
    categories = db.session.scalars(
        select(Category.name)
        .where(Category.org_id == org_id, Category.archived_at.is_(None))
        .order_by(Category.name)
    ).all()
    agents = db.session.execute(
        select(Agent.name, Agent.email)
        .where(Agent.org_id == org_id, Agent.active.is_(True))
        .order_by(Agent.name)
    ).all()
    return dict(
        categories=categories,
        agents=agents,
        fields=FIELDS,
        ops=OPS,
        priorities=list(Priority),
        levels=list(Level),
    )


def _form_of(rule: RoutingRule | None) -> dict:
    """The form's values for a saved rule, or a new one."""
    if rule is None:
        return {"name": "", "conditions": [], "actions": {}, "stop": False, "active": True}
    actions = {name: rule.actions.get(name, "") for name in ACTIONS}
    actions["add_tags"] = ", ".join(rule.actions.get("add_tags") or [])
    return {
        "name": rule.name,
        "conditions": list(rule.conditions or []),
        "actions": actions,
        "stop": rule.stop,
        "active": rule.active,
    }


def _draft(form: MultiDict) -> tuple[dict, int]:
    """The rule the form describes, and how many empty condition rows it had (ignored)."""
    indexes = sorted(
        {
            int(key.split(".")[1])
            for key in form
            if key.startswith("conditions.")
            and key.count(".") == 2
            and key.split(".")[1].isdigit()
            and len(key.split(".")[1]) < 4
        }
    )
    conditions, empty = [], 0
    for index in indexes:
        row = {part: form.get(f"conditions.{index}.{part}", "") for part in CONDITION_PARTS}
        if not row["value"].strip() and not row["key"].strip():
            empty += 1
            continue
        conditions.append(row)
    draft = {
        "name": form.get("name", ""),
        "conditions": conditions,
        "actions": {name: form.get(f"actions.{name}", "") for name in ACTIONS},
        "stop": form.get("stop") == "1",
        "active": form.get("active") == "1",
    }
    return draft, min(empty, rules.MAX_CONDITIONS)


def _facts(form: MultiDict) -> TicketFacts:
    """The try-it panel's ticket: a recent ticket's reference, or what was typed."""
    reference = form.get("ticket", "").strip()
    if reference:
        ticket = find_ticket(db.session.get(Organization, current_user.org_id), reference)
        if ticket is None:
            raise InvalidValue("ticket", f"No ticket {reference!r} in this organization")
        return TicketFacts(
            subject=ticket.subject,
            description=ticket.description,
            priority=str(ticket.priority),
            category=ticket.category.name if ticket.category else None,
            customer_email=ticket.customer.email if ticket.customer else None,
            metadata=ticket.meta or {},
        )
    priority = form.get("priority", "MEDIUM").upper()
    if priority not in Priority.__members__:
        raise InvalidValue("priority", f"Unknown priority {priority!r}")
    return TicketFacts(
        subject=form.get("subject", ""),
        description=form.get("description", ""),
        priority=priority,
        category=form.get("category", "").strip() or None,
        customer_email=form.get("customer_email", "").strip() or None,
        metadata=rules.parse_metadata(form.get("metadata", "")),
    )


def _try_form(form: MultiDict | None = None) -> dict:
    form = form or MultiDict()
    values = {name: form.get(name, "") for name in TRY_FIELDS}
    values["priority"] = values["priority"] or "MEDIUM"
    return values


def _list_page(status: int = 200, **context):
    context.setdefault("tried", _try_form())
    return page(
        "admin/_rules.html",
        "Rules",
        status,
        rules=rules.rules_of(current_user.org_id),
        describe_conditions=rules.describe_conditions,
        describe_actions=rules.describe_actions,
        priorities=list(Priority),
        **context,
    )


def _form_page(rule: RoutingRule | None, form: dict, empty_rows: int, status: int = 200, **context):
    if not form["conditions"] and not empty_rows:
        empty_rows = 1
    rows = [
        *form["conditions"],
        *({"field": "subject", "op": "contains", "value": "", "key": ""} for _ in range(empty_rows)),
    ]
    context.setdefault("tried", _try_form())
    return page(
        "admin/_rule_form.html",
        rule.name if rule else "New rule",
        status,
        rule=rule,
        form=form,
        rows=rows,
        **_choices(),
        **context,
    )


@bp.get("/rules")
def rule_list():
    """The organization's rules, in the order they are evaluated."""
    return _list_page()


@bp.post("/rules/try")
def try_rules():
    """What the saved rules would do with the ticket in the try-it panel (writes nothing)."""
    tried = _try_form(request.form)
    try:
        trial = rules.try_rules(current_user.org_id, _facts(request.form))
    except InvalidValue as error:
        return _list_page(422, error=error, tried=tried)
    return _list_page(trial=trial, tried=tried)


@bp.get("/rules/new")
def new_rule():
    """An empty rule form."""
    return _form_page(None, _form_of(None), 1)


@bp.get("/rules/<public_id>")
def edit_rule(public_id: str):
    """One rule's form."""
    rule = _rule(public_id)
    return _form_page(rule, _form_of(rule), 0)


def _submit(public_id: str | None):
    """The rule form's three buttons: add a condition row, try the unsaved rule, or save it."""
    rule = _rule(public_id) if public_id else None
    draft, empty = _draft(request.form)
    shown = {**draft, "actions": dict(draft["actions"])}
    tried = _try_form(request.form)
    action = request.form.get("do", "save")
    if action == "add":
        return _form_page(rule, shown, empty + 1, tried=tried)
    org_id = current_user.org_id
    try:
        if action == "try":
            spec = rules.validate(org_id, draft)
            trial: Routing = rules.try_rules(org_id, _facts(request.form), spec, rule.id if rule else None)
            return _form_page(rule, shown, empty, trial=trial, tried=tried)
        with write_transaction():
            spec = rules.validate(org_id, draft)
            if public_id is None:
                rules.create_rule(org_id, spec, admin_log.web())
                saved = f"Created {spec.name}."
            else:
                saved = (
                    "Saved."
                    if rules.update_rule(_rule(public_id), spec, admin_log.web())
                    else "Nothing changed."
                )
    except InvalidValue as error:
        db.session.rollback()
        rule = _rule(public_id) if public_id else None
        return _form_page(rule, shown, empty, 422, error=error, tried=tried)
    return _list_page(201 if public_id is None else 200, saved=saved)


@bp.post("/rules")
def create_rule():
    """Add a rule at the end of the list (or add a row to the form, or try it)."""
    return _submit(None)


@bp.post("/rules/<public_id>")
def update_rule(public_id: str):
    """Change a rule (or add a row to its form, or try the unsaved edits)."""
    return _submit(public_id)


def _change(action, success: str):
    with write_transaction():
        changed = action()
    return _list_page(saved=success if changed is not False else "Nothing changed.")


@bp.post("/rules/<public_id>/active")
def set_rule_active(public_id: str):
    """Enable (`active=1`) or disable (`active=0`) a rule."""
    active = request.form.get("active", "1") != "0"
    return _change(
        lambda: rules.set_active(_rule(public_id), active, admin_log.web()),
        "Enabled." if active else "Disabled.",
    )


@bp.post("/rules/<public_id>/move")
def move_rule(public_id: str):
    """Move a rule one place up or down (`direction=up|down`)."""
    offset = {"up": -1, "down": 1}.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    return _change(lambda: rules.move_rule(_rule(public_id), offset, admin_log.web()), "Moved.")


@bp.post("/rules/<public_id>/delete")
def delete_rule(public_id: str):
    """Delete a rule."""
    return _change(lambda: rules.delete_rule(_rule(public_id), admin_log.web()), "Deleted.")
