"""/profile: every agent changes their own name and password; other sign-ins end."""

import pytest
from flask import g
from werkzeug.security import check_password_hash

from helpdesk.extensions import db
from helpdesk.models import AdminEvent, Agent, AgentSession

from .. import factories

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def forget_user_between_requests(app):
    @app.teardown_request
    def forget(_error):
        g.pop("_login_user", None)


def signed_in(app, agent, remember=False):
    client = app.test_client()
    data = {"email": agent.email, "password": factories.PASSWORD, **({"remember": "y"} if remember else {})}
    assert client.post("/login", data=data).status_code in (302, 303)
    return client


def fresh(agent) -> Agent:
    db.session.rollback()
    return db.session.get(Agent, agent.id)


def test_every_agent_has_a_profile_linked_from_the_header(agent_client, agent):
    queue = agent_client.get("/").text
    assert 'href="/profile"' in queue
    page = agent_client.get("/profile")
    assert page.status_code == 200 and "<h1>Your profile</h1>" in page.text and agent.email in page.text
    fragment = agent_client.get("/profile", headers=HX)
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith('<div id="profile">')


def test_anonymous_people_are_sent_to_sign_in(client):
    for method, url in (("get", "/profile"), ("post", "/profile/name"), ("post", "/profile/password")):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_changing_ones_name(agent_client, agent):
    response = agent_client.post("/profile/name", data={"name": "Nina Newname"}, headers=HX)
    assert response.status_code == 200 and "Name saved." in response.text
    assert fresh(agent).name == "Nina Newname"
    assert 'data-field="name"' in agent_client.post("/profile/name", data={"name": " "}, headers=HX).text
    assert fresh(agent).name == "Nina Newname"


def test_a_wrong_current_password_is_refused_naming_the_field(app, agent):
    client = signed_in(app, agent)
    wrong = {"current_password": "nope", "new_password": "brand new pass"}
    response = client.post("/profile/password", data=wrong, headers=HX)
    assert response.status_code == 422 and 'data-field="current_password"' in response.text
    assert check_password_hash(fresh(agent).password_hash, factories.PASSWORD)
    short = client.post("/profile/password", headers=HX,
                        data={"current_password": factories.PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and 'data-field="new_password"' in short.text
    assert check_password_hash(fresh(agent).password_hash, factories.PASSWORD)
    assert db.session.scalars(db.select(AdminEvent)).all() == []


def test_a_new_password_ends_the_other_sign_ins_and_keeps_this_one(app, agent):
    here = signed_in(app, agent)
    elsewhere = signed_in(app, agent, remember=True)
    response = here.post("/profile/password", headers=HX,
                         data={"current_password": factories.PASSWORD, "new_password": "a much better one"})
    assert response.status_code == 200 and "other sign-ins have ended" in response.text
    assert check_password_hash(fresh(agent).password_hash, "a much better one")
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    sessions = db.session.scalars(db.select(AgentSession).filter_by(agent_id=agent.id)).all()
    assert [s.ended_at is None for s in sessions] == [True, False]
    assert all(s.remember_hash is None for s in sessions[1:])
    [event] = db.session.scalars(db.select(AdminEvent)).all()
    assert event.action == "agent.password" and "a much better one" not in (event.new_value or "")


def test_profile_writes_need_a_csrf_token(app, agent):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client(user=agent)
    for url in ("/profile/name", "/profile/password"):
        assert client.post(url, data={"name": "X"}, headers=HX).status_code == 400
    assert fresh(agent).name == agent.name


def test_an_admin_uses_the_same_profile(app, org):
    admin = factories.make_agent(org, role="admin")
    client = app.test_client(user=admin)
    assert client.post("/profile/name", data={"name": "Ada"}, headers=HX).status_code == 200
    assert fresh(admin).name == "Ada"
