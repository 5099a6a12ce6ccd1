"""Sign-ins that end: a deactivated agent's and, on a new password, every other one."""

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Agent, AgentSession, Availability, Status, Ticket

from .. import factories
from .conftest import HX, admin_events


def sign_in(app, agent, remember: bool = False):
    """A separate client (another browser) signed in through the real login form."""
    client = app.test_client()
    data = {"email": agent.email, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    assert client.post("/login", data=data).status_code in (302, 303)
    assert client.get("/").status_code == 200
    return client


def live_sessions(agent) -> list[AgentSession]:
    db.session.rollback()
    return list(db.session.scalars(
        db.select(AgentSession).filter_by(agent_id=agent.id, ended_at=None)
    ))


def test_deactivating_an_agent_signed_in_elsewhere_refuses_their_next_request(app, org, admin, admin_client):
    with write_transaction():  # so that the ticket goes to Nina
        db.session.get(Agent, admin.id).availability = Availability.AWAY
    nina = factories.make_agent(org, name="Nina", availability=Availability.AVAILABLE)
    ticket = factories.make_ticket(org)
    assert ticket.assignee_id == nina.id
    backup = factories.make_agent(org, name="Bo", availability=Availability.AVAILABLE)
    ninas_browser = sign_in(app, nina, remember=True)
    assert [s.remember_hash is not None for s in live_sessions(nina)] == [True]
    response = admin_client.post(f"/admin/agents/{nina.public_id}/deactivate", headers=HX)
    assert response.status_code == 200
    refused = ninas_browser.get("/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert ninas_browser.get("/", headers=HX).status_code == 401
    assert live_sessions(nina) == []
    ninas = db.session.scalars(db.select(AgentSession).filter_by(agent_id=nina.id)).all()
    assert ninas and all(s.remember_hash is None for s in ninas)
    moved = db.session.get(Ticket, ticket.id)
    assert moved.assignee_id == backup.id and moved.status == Status.IN_PROGRESS
    assert [e.action for e in admin_events()] == ["agent.active"]


def test_an_admin_setting_a_password_ends_all_that_agents_sessions(app, org, admin_client):
    bob = factories.make_agent(org)
    bobs_browser = sign_in(app, bob)
    response = admin_client.post(f"/admin/agents/{bob.public_id}/password",
                                 data={"password": "a brand new one"}, headers=HX)
    assert response.status_code == 200
    assert bobs_browser.get("/").status_code == 302
    assert live_sessions(bob) == []
