"""/admin/agents: create, edit, deactivate (tickets go back and are assigned again), reactivate."""

import pytest
from werkzeug.security import check_password_hash

from helpdesk import accounts, admin_log
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Agent, Availability, Role, Status, Ticket, TicketEvent
from helpdesk.validation import InvalidValue

from .. import factories
from .conftest import HX, admin_events


def agent_row(agent_id) -> Agent:
    db.session.rollback()
    return db.session.get(Agent, agent_id)


def test_list_shows_load_capacity_and_last_sign_in(admin_client, org):
    factories.make_agent(org, name="Bob", capacity=7)
    page = admin_client.get("/admin/agents").text
    assert "Bob" in page and "0 / 7" in page and "never" in page


def test_create_an_agent_who_can_then_sign_in(app, admin_client, admin):
    response = admin_client.post(
        "/admin/agents",
        data={
            "email": "New@Example.com",
            "name": "Newt",
            "password": "long enough pw",
            "role": "agent",
            "level": "N2",
            "capacity": "5",
        },
        headers=HX,
    )
    assert response.status_code == 201
    created = db.session.scalar(db.select(Agent).filter_by(email="new@example.com"))
    assert created.level == "N2" and created.capacity == 5 and created.org_id == admin.org_id
    [event] = admin_events(action="agent.created")
    assert event.target == "new@example.com" and event.actor_label == "Ada Admin" and event.source == "web"
    login = app.test_client().post("/login", data={"email": "new@example.com", "password": "long enough pw"})
    assert login.status_code == 303
    assert agent_row(created.id).last_sign_in_at is not None


def test_bad_input_names_the_field_and_writes_nothing(admin_client):
    for field, value in [
        ("capacity", "lots"),
        ("level", "N9"),
        ("role", "boss"),
        ("email", "nope"),
        ("password", "short"),
    ]:
        data = {
            "email": "x@example.com",
            "name": "X",
            "password": "long enough pw",
            "role": "agent",
            "level": "N1",
            "capacity": "3",
            field: value,
        }
        response = admin_client.post("/admin/agents", data=data, headers=HX)
        assert response.status_code == 422
        assert f'data-field="{field}"' in response.text
    assert db.session.scalar(db.select(Agent).filter_by(email="x@example.com")) is None
    assert admin_events() == []


def test_edit_role_level_capacity_with_an_audit_row_each(admin_client, org):
    bob = factories.make_agent(org, name="Bob")
    response = admin_client.post(
        f"/admin/agents/{bob.public_id}",
        data={"name": "Robert", "role": "admin", "level": "N3", "capacity": "9"},
        headers=HX,
    )
    assert response.status_code == 200
    bob = agent_row(bob.id)
    assert (bob.name, bob.role, bob.level, bob.capacity) == ("Robert", Role.ADMIN, "N3", 9)
    assert {e.action for e in admin_events()} == {"agent.name", "agent.role", "agent.level", "agent.capacity"}


def test_an_admin_cannot_demote_or_deactivate_themselves(admin_client, admin, org):
    factories.make_agent(org, role=Role.ADMIN)
    response = admin_client.post(f"/admin/agents/{admin.public_id}", data={"role": "agent"}, headers=HX)
    assert response.status_code == 422 and 'data-field="role"' in response.text
    response = admin_client.post(f"/admin/agents/{admin.public_id}/deactivate", headers=HX)
    assert response.status_code == 422 and 'data-field="active"' in response.text
    assert agent_row(admin.id).active and agent_row(admin.id).role == Role.ADMIN


def test_the_last_active_admin_cannot_be_removed(app, org, admin):
    other = factories.make_agent(org, role=Role.ADMIN)
    client = app.test_client(user=other)
    assert client.post(f"/admin/agents/{admin.public_id}/deactivate", headers=HX).status_code == 200
    # `other` is now the organization's only active admin: nobody (here a script) removes them.
    script = admin_log.Changer(label="script", source="cli")
    for change in (
        lambda a: accounts.deactivate_agent(a, script),
        lambda a: accounts.update_agent(a, {"role": "agent"}, script),
    ):
        with pytest.raises(InvalidValue, match="last active admin"), write_transaction():
            change(db.session.get(Agent, other.id))
    assert agent_row(other.id).active and agent_row(other.id).role == Role.ADMIN
    # With the first admin back, demoting one of the two is fine.
    assert client.post(f"/admin/agents/{admin.public_id}/reactivate", headers=HX).status_code == 200
    assert (
        client.post(f"/admin/agents/{admin.public_id}", data={"role": "agent"}, headers=HX).status_code == 200
    )
    assert app.test_client(user=agent_row(admin.id)).get("/admin/agents").status_code == 403


def test_deactivation_refuses_the_agents_next_request_and_reassigns_their_tickets(app, org, admin_client):
    nina = factories.make_agent(org, name="Nina", availability=Availability.AVAILABLE)
    nina_client = app.test_client(user=nina)
    assert nina_client.get("/").status_code == 200
    tickets = [factories.make_ticket(org).id for _ in range(2)]
    # The admin is available too: the least loaded takes each; give both to Nina.
    db.session.rollback()
    assert {db.session.get(Ticket, t).assignee_id for t in tickets} <= {
        nina.id,
        admin_client_admin_id(admin_client),
    }
    with_nina = [t for t in tickets if db.session.get(Ticket, t).assignee_id == nina.id]
    assert with_nina

    response = admin_client.post(f"/admin/agents/{nina.public_id}/deactivate", headers=HX)
    assert response.status_code == 200
    assert nina_client.get("/").status_code == 302  # refused at once: sent to sign in
    db.session.rollback()
    for ticket_id in with_nina:
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.assignee_id != nina.id
        assert ticket.assignee_id is not None and ticket.status == Status.IN_PROGRESS  # the admin, again
        actions = [
            e.actor_label
            for e in db.session.scalars(
                db.select(TicketEvent)
                .filter_by(ticket_id=ticket_id, action="assigned")
                .order_by(TicketEvent.id)
            )
        ]
        assert actions[-2:] == ["Deactivation of Nina", "Auto-assignment"]
    assert [e.action for e in admin_events()] == ["agent.active"]
    assert not agent_row(nina.id).active
    login = app.test_client().post("/login", data={"email": nina.email, "password": factories.PASSWORD})
    assert login.status_code == 401


def admin_client_admin_id(client) -> int:
    return db.session.scalar(db.select(Agent.id).filter_by(role=Role.ADMIN))


def test_set_a_password(admin_client, org):
    bob = factories.make_agent(org)
    assert (
        admin_client.post(
            f"/admin/agents/{bob.public_id}/password", data={"password": "x"}, headers=HX
        ).status_code
        == 422
    )
    assert (
        admin_client.post(
            f"/admin/agents/{bob.public_id}/password", data={"password": "brand new secret"}, headers=HX
        ).status_code
        == 200
    )
    assert check_password_hash(agent_row(bob.id).password_hash, "brand new secret")
    [event] = admin_events(action="agent.password")
    assert "brand new secret" not in (event.new_value or "")


def test_another_organizations_agent_is_a_404(admin_client, other_org):
    stranger = factories.make_agent(other_org)
    assert admin_client.get(f"/admin/agents/{stranger.public_id}").status_code == 404
    assert admin_client.post(f"/admin/agents/{stranger.public_id}/deactivate").status_code == 404
    assert agent_row(stranger.id).active


def test_plain_agents_cannot_write(app, org):
    bob = factories.make_agent(org)
    client = app.test_client(user=factories.make_agent(org))
    assert client.post("/admin/agents", data={"email": "y@example.com"}).status_code == 403
    assert client.post(f"/admin/agents/{bob.public_id}/deactivate").status_code == 403
