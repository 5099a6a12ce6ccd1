"""`/admin/agents`: who works the queues; create, edit, deactivate, reactivate, new password."""

from flask import abort, request
from flask_login import current_user
from sqlalchemy import and_, func, select

from .. import accounts, admin_log
from ..db import write_transaction
from ..extensions import db
from ..models import TICKET_IS_OPEN, Agent, Level, Role, Ticket
from ..validation import InvalidValue
from . import bp, page


def _agent(public_id: str) -> Agent:
    """The organization's agent with this id; another organization's is a 404."""
    agent = db.session.scalar(
        select(Agent).where(Agent.org_id == current_user.org_id, Agent.public_id == public_id)
    )
    if agent is None:
        abort(404)
    return agent


def _rows() -> list[tuple[Agent, int]]:
    """Every agent of the organization with their open load."""
    load = func.count(Ticket.id)
    return list(
        db.session.execute(
            select(Agent, load)
            .outerjoin(Ticket, and_(Ticket.assignee_id == Agent.id, TICKET_IS_OPEN))
            .where(Agent.org_id == current_user.org_id)
            .group_by(Agent.id)
            .order_by(Agent.active.desc(), Agent.name)
        ).all()
    )


def _list_page(status: int = 200, **context):
    context.setdefault("form", {"role": "agent", "level": "N1", "capacity": "20"})
    return page(
        "admin/_agents.html", "Agents", status, rows=_rows(), roles=list(Role), levels=list(Level), **context
    )


@bp.get("/agents")
def agent_list():
    """The organization's agents, and a form to add one."""
    return _list_page()


@bp.post("/agents")
def create_agent():
    """Add an agent (form fields email, name, password, role, level, capacity)."""
    form = {
        name: request.form.get(name, "")
        for name in ("email", "name", "password", "role", "level", "capacity")
    }
    changer = admin_log.web()
    try:
        with write_transaction():
            agent = accounts.create_agent(
                current_user.org,
                email=form["email"],
                name=form["name"],
                password=form["password"],
                role=accounts.parse_choice("role", form["role"] or "agent", Role),
                level=accounts.parse_choice("level", form["level"] or "N1", Level),
                capacity=accounts.parse_int("capacity", form["capacity"] or "20"),
            )
            admin_log.record(
                agent.org_id,
                changer,
                "agent.created",
                agent.email,
                None,
                f"{agent.name}, {agent.role}, {agent.level}, capacity {agent.capacity}",
            )
            created = agent.email
    except InvalidValue as error:
        form["password"] = ""
        return _list_page(422, form=form, error=error)
    return _list_page(201, created=created)


def _edit_page(agent: Agent, status: int = 200, **context):
    load = db.session.scalar(
        select(func.count(Ticket.id)).where(Ticket.assignee_id == agent.id, TICKET_IS_OPEN)
    )
    return page(
        "admin/_agent.html",
        agent.name,
        status,
        agent=agent,
        load=load,
        roles=list(Role),
        levels=list(Level),
        **context,
    )


@bp.get("/agents/<public_id>")
def agent_detail(public_id: str):
    """One agent: edit, new password, deactivate or reactivate."""
    return _edit_page(_agent(public_id))


@bp.post("/agents/<public_id>")
def update_agent(public_id: str):
    """Change an agent's name, role, level and capacity."""
    changes = {f: request.form[f] for f in ("name", "role", "level", "capacity") if f in request.form}
    try:
        with write_transaction():
            agent = _agent(public_id)
            changed = accounts.update_agent(agent, changes, admin_log.web())
    except InvalidValue as error:
        db.session.rollback()
        return _edit_page(_agent(public_id), 422, error=error)
    return _edit_page(_agent(public_id), saved="Saved." if changed else "Nothing changed.")


@bp.post("/agents/<public_id>/deactivate")
def deactivate_agent(public_id: str):
    """Deactivate: refused at once everywhere; their open tickets go back to the queue."""
    try:
        with write_transaction():
            tickets = accounts.deactivate_agent(_agent(public_id), admin_log.web())
            moved = len(tickets)
    except InvalidValue as error:
        db.session.rollback()
        return _edit_page(_agent(public_id), 422, error=error)
    return _edit_page(_agent(public_id), saved=f"Deactivated; {moved} open ticket(s) returned to the queue.")


@bp.post("/agents/<public_id>/reactivate")
def reactivate_agent(public_id: str):
    """Let a deactivated agent sign in again."""
    with write_transaction():
        accounts.reactivate_agent(_agent(public_id), admin_log.web())
    return _edit_page(_agent(public_id), saved="Reactivated.")


@bp.post("/agents/<public_id>/password")
def set_agent_password(public_id: str):
    """Give an agent a new password."""
    try:
        with write_transaction():
            accounts.set_password(_agent(public_id), request.form.get("password", ""), admin_log.web())
    except InvalidValue as error:
        db.session.rollback()
        return _edit_page(_agent(public_id), 422, error=error)
    return _edit_page(_agent(public_id), saved="Password changed.")
