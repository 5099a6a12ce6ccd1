"""Server-side sessions: logout, end_sessions and the timeouts end a sign-in for good;
remember tokens are replaced on every use and last at most 30 days."""

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from helpdesk import auth, create_app
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import AgentSession, utcnow

from .. import factories
from ..conftest import app_config


def sign_in(client, agent, remember=False):
    data = {"email": agent.email, "password": factories.PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 303
    return response


def signed_in(client) -> bool:
    """Whether the client's cookies still open the queue (a signed-out client is sent to /login)."""
    return client.get("/").status_code == 200


def with_cookies(app, **cookies):
    """A fresh browser holding only these cookies (copied from another)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def cookie(client, name):
    found = client.get_cookie(name)
    return found.value if found else None


def rewind(**columns: timedelta):
    """Move every session's timestamps into the past, as if that much time had gone by."""
    with write_transaction():
        for row in db.session.scalars(select(AgentSession)):
            for column, delta in columns.items():
                setattr(row, column, getattr(row, column) - delta)


def test_a_session_cookie_copied_before_logout_is_refused_after(app, client, agent):
    sign_in(client, agent)
    copied = cookie(client, "session")
    assert signed_in(with_cookies(app, session=copied))
    client.post("/logout")
    assert not signed_in(with_cookies(app, session=copied))
    row = db.session.scalar(select(AgentSession))
    assert row.ended_at is not None


def test_the_session_cookie_names_a_server_side_session_not_the_agent(app, client, agent):
    sign_in(client, agent)
    first = cookie(client, "session")
    client.post("/logout")
    sign_in(client, agent)
    assert cookie(client, "session") != first
    rows = db.session.scalars(select(AgentSession).order_by(AgentSession.id)).all()
    assert len(rows) == 2 and rows[0].ended_at is not None and rows[1].ended_at is None
    assert all(len(row.key_hash) == 64 for row in rows)  # only a digest of the key is kept


def test_the_remember_cookie_alone_restores_the_session_and_is_replaced(app, client, agent):
    sign_in(client, agent, remember=True)
    remembered = cookie(client, "remember_token")
    browser = with_cookies(app, remember_token=remembered)
    assert signed_in(browser)
    replaced = cookie(browser, "remember_token")
    assert replaced and replaced != remembered
    # The browser now holds a new session cookie; the old remember token is spent.
    assert not signed_in(with_cookies(app, remember_token=remembered))
    assert signed_in(with_cookies(app, remember_token=replaced))


def test_the_remember_cookie_is_refused_after_logout(app, client, agent):
    sign_in(client, agent, remember=True)
    remembered = cookie(client, "remember_token")
    logout = client.post("/logout")
    assert any(v.startswith("remember_token=;") for v in logout.headers.getlist("Set-Cookie"))
    assert not signed_in(with_cookies(app, remember_token=remembered))


def test_remember_me_lasts_the_configured_time_and_no_longer(app, client, agent):
    response = sign_in(client, agent, remember=True)
    header = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("remember_token="))
    assert f"Max-Age={app.config['REMEMBER_SECONDS']}" in header
    assert app.config["REMEMBER_SECONDS"] <= 30 * 86400
    remembered = cookie(client, "remember_token")
    rewind(created_at=timedelta(days=1), remember_until=timedelta(seconds=app.config["REMEMBER_SECONDS"]))
    assert not signed_in(with_cookies(app, remember_token=remembered))
    assert not signed_in(client)


def test_remember_me_beyond_30_days_is_refused_at_start(tmp_path):
    with pytest.raises(RuntimeError, match="REMEMBER_SECONDS"):
        create_app({**app_config(tmp_path), "REMEMBER_SECONDS": 31 * 86400})


def test_an_idle_session_ends(app, client, agent):
    sign_in(client, agent)
    idle = timedelta(seconds=app.config["SESSION_IDLE_SECONDS"])
    almost = idle - timedelta(seconds=5)
    rewind(created_at=almost, last_seen_at=almost)
    assert signed_in(client)  # not idle long enough yet, and this request counts as use
    rewind(created_at=almost, last_seen_at=almost)
    assert signed_in(client)  # in use for longer than the idle timeout, never idle that long
    rewind(last_seen_at=idle + timedelta(seconds=1))
    assert not signed_in(client)


def test_a_session_ends_after_the_absolute_timeout_however_busy(app, client, agent):
    sign_in(client, agent)
    rewind(created_at=timedelta(seconds=app.config["SESSION_MAX_SECONDS"] - 5))
    assert signed_in(client)
    rewind(created_at=timedelta(seconds=10))
    assert not signed_in(client)


def test_timeouts_follow_the_configuration(app, client, agent):
    app.config["SESSION_IDLE_SECONDS"] = 60
    sign_in(client, agent)
    rewind(last_seen_at=timedelta(seconds=61))
    assert not signed_in(client)


def test_use_is_recorded_at_most_every_touch_interval(app, client, agent):
    sign_in(client, agent)
    first = db.session.scalar(select(AgentSession.last_seen_at))
    assert signed_in(client)
    db.session.expire_all()
    assert db.session.scalar(select(AgentSession.last_seen_at)) == first  # no write per request
    rewind(last_seen_at=timedelta(seconds=app.config["SESSION_TOUCH_SECONDS"]))
    assert signed_in(client)
    db.session.expire_all()
    assert db.session.scalar(select(AgentSession.last_seen_at)) > first - timedelta(seconds=1)


def test_end_sessions_ends_every_other_session_and_remember_token(app, org, agent):
    laptop, phone, tablet = app.test_client(), app.test_client(), app.test_client()
    sign_in(laptop, agent)
    sign_in(phone, agent, remember=True)
    remembered = cookie(phone, "remember_token")
    sign_in(tablet, agent)
    someone_else = factories.make_agent(org)
    theirs = app.test_client(user=someone_else)
    keep = db.session.scalar(select(AgentSession.id).where(AgentSession.agent_id == agent.id))
    with write_transaction():
        assert auth.end_sessions(db.session.merge(agent), keep=keep) == 2
    assert signed_in(laptop)
    assert not signed_in(phone) and not signed_in(tablet)
    assert not signed_in(with_cookies(app, remember_token=remembered))
    assert signed_in(theirs)
    with write_transaction():
        assert auth.end_sessions(agent.id) == 1
    assert not signed_in(laptop)


def test_current_session_id_names_the_requests_session(app, client, agent):
    seen = []

    @app.get("/_test/session-id")
    def session_id():
        seen.append(auth.current_session_id())
        return ""

    sign_in(client, agent)
    client.get("/_test/session-id")
    assert seen == [db.session.scalar(select(AgentSession.id))]


def test_a_deactivated_agents_session_is_refused(app, client, agent):
    sign_in(client, agent)
    with write_transaction():
        db.session.execute(update(type(agent)).values(active=False))
    assert not signed_in(client)


def test_a_forged_remember_cookie_is_refused_and_cleared(app, client, agent):
    sign_in(client, agent, remember=True)
    session_id = cookie(client, "remember_token").split(".")[0]
    for forged in (f"{session_id}.guess", "1|abcdef", "x.y", ""):
        browser = with_cookies(app, remember_token=forged)
        assert not signed_in(browser)
    assert utcnow() < db.session.scalar(select(AgentSession.remember_until))


def test_sign_ins_that_ended_over_a_week_ago_are_forgotten(app, agent):
    """The worker prunes agent_sessions; what could still hold, or ended lately, stays."""
    now, week, hour = utcnow(), auth.SESSIONS_KEPT, timedelta(hours=1)
    idle = timedelta(seconds=app.config["SESSION_IDLE_SECONDS"])
    longest = timedelta(seconds=app.config["SESSION_MAX_SECONDS"])
    rows = {
        "live": {},
        "ended lately": {"ended_at": now - week + hour},
        "ended long ago": {"ended_at": now - week - hour},
        "remembered": {"remember_until": now + hour, "created_at": now - 9 * week},
        "remembered until long ago": {"remember_until": now - week - hour},
        "idle long ago": {"last_seen_at": now - week - idle - hour},
        "idle lately": {"last_seen_at": now - week - idle + hour},
        "begun long ago": {"created_at": now - week - longest - hour},
    }
    with write_transaction():
        for name, columns in rows.items():
            db.session.add(AgentSession(agent_id=agent.id, key_hash=name, **columns))
    assert auth.forget_sessions() == 4
    kept = set(db.session.scalars(select(AgentSession.key_hash)))
    assert kept == {"live", "ended lately", "remembered", "idle lately"}
