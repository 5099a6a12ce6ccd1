"""Sign-in throttling by account and address together: growing delays for the guesser, no
lockout of the agent from elsewhere, and a count that concurrent attempts cannot outrun."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import LoginAttempt, utcnow

from .. import factories

ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}


def sign_in(client, email, password, environ=None):
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base=environ or {}
    )


def test_a_guesser_elsewhere_cannot_lock_the_agent_out(app, client, agent):
    for _ in range(3 * app.config["LOGIN_MAX_FAILURES"]):
        assert sign_in(client, agent.email, "guess", ATTACKER).status_code in (401, 429)
    assert sign_in(client, agent.email, factories.PASSWORD, ATTACKER).status_code == 429
    assert sign_in(client, agent.email, factories.PASSWORD).status_code == 303


def test_each_failure_after_a_lock_doubles_the_wait(app, client, agent):
    limit, first = app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_LOCKOUT_SECONDS"]
    for _ in range(limit):
        assert sign_in(client, agent.email, "guess", ATTACKER).status_code == 401
    waits = []
    for _ in range(3):
        locked = sign_in(client, agent.email, factories.PASSWORD, ATTACKER)
        assert locked.status_code == 429  # even the right password waits
        waits.append(int(locked.headers["Retry-After"]))
        # The lock runs out; the next guess is allowed, fails, and locks for twice as long.
        with write_transaction():
            for row in db.session.scalars(select(LoginAttempt)):
                row.locked_until = utcnow() - timedelta(seconds=1)
        assert sign_in(client, agent.email, "guess", ATTACKER).status_code == 401
    assert waits == [first, 2 * first, 4 * first]


def test_the_wait_stops_growing_at_the_maximum(app, client, agent):
    app.config["LOGIN_LOCKOUT_MAX_SECONDS"] = 700
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 5):
        sign_in(client, agent.email, "guess", ATTACKER)
        with write_transaction():
            for row in db.session.scalars(select(LoginAttempt)):
                row.locked_until = None
    sign_in(client, agent.email, "guess", ATTACKER)
    assert sign_in(client, agent.email, "guess", ATTACKER).headers["Retry-After"] == "700"


def test_failures_are_forgotten_a_day_after_the_last(app, client, agent):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, agent.email, "guess", ATTACKER)
    kept = timedelta(seconds=app.config["LOGIN_FAILURES_KEPT_SECONDS"] + 1)
    with write_transaction():
        for row in db.session.scalars(select(LoginAttempt)):
            row.window_start -= kept
            if row.locked_until:
                row.locked_until -= kept
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        assert sign_in(client, agent.email, "guess", ATTACKER).status_code == 401


def test_a_right_password_takes_back_its_count_from_the_address(app, client, org):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    agents = [factories.make_agent(org) for _ in range(5)]
    for agent in agents:  # an office signing in all morning
        assert sign_in(client, agent.email, factories.PASSWORD).status_code == 303
        client.post("/logout")
    key = db.session.scalar(select(LoginAttempt).where(LoginAttempt.key == "addr:127.0.0.1"))
    assert key.failures == 0


@pytest.mark.slow
def test_concurrent_guesses_get_no_more_tries_than_allowed(live_server, agent):
    """Real gunicorn (2 workers × 4 threads): 16 wrong passwords at once, 5 get an answer."""
    import requests

    attempts, email = 16, agent.email
    sessions, tokens = [], []
    for _ in range(attempts):  # each guess with its own cookie and CSRF token, fetched first
        session = requests.Session()
        page = session.get(live_server.url + "/login", timeout=10).text
        tokens.append(re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1))
        sessions.append(session)
    start, statuses = threading.Barrier(attempts), []

    def guess(session, token):
        start.wait()
        statuses.append(session.post(
            live_server.url + "/login",
            data={"email": email, "password": "guess", "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        ).status_code)

    threads = [threading.Thread(target=guess, args=pair) for pair in zip(sessions, tokens, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [401] * 5 + [429] * (attempts - 5)
