"""Canned replies: who keeps which, placeholders filled without templating, the picker."""

import pytest
from sqlalchemy import func, select

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import CannedReply, Role

from .. import factories
from .conftest import HX, by_id, parse


def make_reply(agent, title="Greeting", body="Hello {{ customer.name }}", shared=False):
    with write_transaction():
        reply = CannedReply(
            org_id=agent.org_id, agent_id=None if shared else agent.id, title=title, body=body
        )
        db.session.add(reply)
    return reply


def replies_count() -> int:
    return db.session.scalar(select(func.count(CannedReply.id)))


@pytest.fixture
def admin(org):
    return factories.make_agent(org, name="Ada Admin", role=Role.ADMIN)


def test_an_agent_saves_their_own_reply_and_sees_it_listed(nina_client, available_agent):
    response = nina_client.post(
        "/canned", data={"title": "Refund", "body": "We refunded **{{ ticket.reference }}**."}
    )
    assert response.status_code == 303
    reply = db.session.scalar(select(CannedReply))
    assert reply.agent_id == available_agent.id and not reply.shared
    page = parse(nina_client.get("/canned").text)
    assert "Refund" in by_id(page, "canned").all_text()
    assert len(page.find_all(lambda n: n.tag == "h1")) == 1


@pytest.mark.parametrize(
    "form, field",
    [({"title": "", "body": "x"}, "title"), ({"title": "x" * 121, "body": "x"}, "title"),
     ({"title": "T", "body": "  "}, "body"), ({"title": "T", "body": "x" * (16 * 1024 + 1)}, "body"),
     ({"title": "T", "body": "x", "shared": "on"}, "shared")],
)  # fmt: skip
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(nina_client, form, field):
    response = nina_client.post("/canned", data=form, headers=HX)
    assert response.status_code == 422
    assert f"{field}:" in by_id(parse(response.text), "canned").all_text()
    assert replies_count() == 0


def test_only_admins_keep_shared_replies(app, org, admin, available_agent, nina_client):
    assert (
        app.test_client(user=admin)
        .post("/canned", data={"title": "Hours", "body": "We answer 9-17.", "shared": "on"})
        .status_code
        == 303
    )
    shared = db.session.scalar(select(CannedReply))
    assert shared.shared
    # Every agent sees it and may use it, but not change it.
    assert "Hours" in nina_client.get("/canned").text
    assert (
        nina_client.post(f"/canned/{shared.public_id}", data={"title": "Mine now", "body": "x"}).status_code
        == 403
    )
    assert nina_client.post(f"/canned/{shared.public_id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(CannedReply, shared.id).title == "Hours"


def test_another_agents_or_organizations_reply_is_not_found(app, org, other_org, available_agent):
    mine = make_reply(available_agent, title="Nina's secret recipe")
    omar = factories.make_agent(org, name="Omar")
    stranger = factories.make_agent(other_org, role=Role.ADMIN)
    for agent in (omar, stranger):
        client = app.test_client(user=agent)
        assert "secret recipe" not in client.get("/canned").text
        assert client.post(f"/canned/{mine.public_id}", data={"title": "x", "body": "y"}).status_code == 404
        assert client.post(f"/canned/{mine.public_id}/delete").status_code == 404
    db.session.expire_all()
    assert db.session.get(CannedReply, mine.id).title == "Nina's secret recipe"


def test_edit_and_delete_your_own(nina_client, available_agent):
    reply = make_reply(available_agent)
    bad = nina_client.post(f"/canned/{reply.public_id}", data={"title": "", "body": "x"}, headers=HX)
    assert bad.status_code == 422 and "title:" in bad.text
    assert (
        nina_client.post(f"/canned/{reply.public_id}", data={"title": "Hi", "body": "Hey"}).status_code == 303
    )
    db.session.expire_all()
    assert db.session.get(CannedReply, reply.id).body == "Hey"
    assert nina_client.post(f"/canned/{reply.public_id}/delete").status_code == 303
    assert replies_count() == 0


def test_the_picker_fills_placeholders_and_never_evaluates_a_template(nina_client, org, available_agent):
    customer = factories.make_customer(org, name="Ada Lovelace", email="ada@example.org")
    ticket = factories.make_ticket(org, customer=customer, subject="Card declined")
    make_reply(
        available_agent, title="Apology",
        body="Dear {{ customer.name }}, about {{ticket.reference}} ({{ ticket.subject }}): "
             "{{ 7*7 }} {% for x in y %}{{ config }}{{ agent.secret }}{% endfor %} — {{ agent.name }}",
    )  # fmt: skip
    make_reply(available_agent, title="Unrelated", body="Printer drivers")
    picker = nina_client.get(f"/tickets/{ticket.reference}/canned?q=apol", headers=HX)
    assert picker.status_code == 200 and "<html" not in picker.text
    buttons = parse(picker.text).find_all(lambda n: n.has("data-insert"))
    assert len(buttons) == 1
    assert buttons[0].get("data-insert") == (
        f"Dear Ada Lovelace, about {ticket.reference} (Card declined): "
        "{{ 7*7 }} {% for x in y %}{{ config }}{{ agent.secret }}{% endfor %} — Nina"
    )
    everything = nina_client.get(f"/tickets/{ticket.reference}/canned", headers=HX)
    assert len(parse(everything.text).find_all(lambda n: n.has("data-insert"))) == 2


@pytest.mark.parametrize("query", ["%", "_", "\\", "' OR 1=1 --", "NEAR(", '"'])
def test_any_search_is_safe(nina_client, org, available_agent, query):
    make_reply(available_agent, title="Plain")
    ticket = factories.make_ticket(org)
    assert nina_client.get(f"/canned?q={query}").status_code == 200
    picker = nina_client.get(f"/tickets/{ticket.reference}/canned", query_string={"q": query}, headers=HX)
    assert picker.status_code == 200 and "Plain" not in picker.text
