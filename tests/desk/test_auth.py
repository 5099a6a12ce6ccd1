"""Signing in and out: throttling kept in the database, safe redirects, cookie flags."""

import re

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import LoginAttempt

from .. import factories
from .conftest import HX


def sign_in(client, email, password, **query):
    return client.post("/login", query_string=query, data={"email": email, "password": password})


def test_login_page_has_the_form_fields(client):
    page = client.get("/login")
    assert page.status_code == 200
    for name in ("email", "password"):
        assert f'name="{name}"' in page.text


def test_valid_password_signs_in_with_303_to_the_queue(client, agent):
    response = sign_in(client, agent.email, factories.PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/").status_code == 200


def test_email_is_case_insensitive(client, agent):
    assert sign_in(client, agent.email.upper(), factories.PASSWORD).status_code == 303


def test_unknown_email_and_wrong_password_answer_the_same(client, agent):
    wrong = sign_in(client, agent.email, "not the password")
    unknown = sign_in(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731  (the echoed email differs)
    assert strip(wrong.text).replace(agent.email, "") == strip(unknown.text).replace(
        "nobody@example.com", ""
    )
    assert "Wrong email or password." in wrong.text


def test_the_password_hash_is_checked_for_unknown_emails(client, monkeypatch):
    import helpdesk.auth

    checked = []
    real = helpdesk.auth.check_password_hash
    monkeypatch.setattr(
        helpdesk.auth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p)
    )
    sign_in(client, "nobody@example.com", "whatever")
    assert len(checked) == 1


def test_inactive_agent_cannot_sign_in(client, org):
    agent = factories.make_agent(org)
    with db.session.begin():
        db.session.merge(agent).active = False
    assert sign_in(client, agent.email, factories.PASSWORD).status_code == 401


def test_empty_form_is_a_422(client):
    assert client.post("/login", data={"email": "", "password": ""}).status_code == 422


def test_account_is_locked_after_repeated_failures_even_with_the_right_password(app, client, agent):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert sign_in(client, agent.email, "wrong password").status_code == 401
    locked = sign_in(client, agent.email, factories.PASSWORD)
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == str(app.config["LOGIN_LOCKOUT_SECONDS"])
    assert "Too many failed sign-ins" in locked.text
    row = db.session.scalar(
        select(LoginAttempt).where(LoginAttempt.key == f"pair:127.0.0.1|{agent.email}")
    )
    assert row.failures == limit and row.locked_until is not None


def test_unknown_account_locks_the_same_way(app, client):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, "ghost@example.com", "wrong password")
    assert sign_in(client, "ghost@example.com", "wrong password").status_code == 429


@pytest.mark.slow
def test_every_gunicorn_worker_sees_the_same_count(live_server, agent):
    """Two workers, a new connection per attempt: the lock holds whichever worker answers."""
    import requests

    def attempt(password):
        with requests.Session() as session:
            page = session.get(live_server.url + "/login", timeout=10).text
            token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
            return session.post(
                live_server.url + "/login",
                data={"email": agent.email, "password": password, "csrf_token": token},
                allow_redirects=False,
                timeout=10,
            ).status_code

    assert [attempt("wrong password") for _ in range(5)] == [401] * 5
    assert [attempt(factories.PASSWORD) for _ in range(4)] == [429] * 4


def test_address_is_locked_after_many_accounts_fail(app, client, org):
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    for n in range(3):
        sign_in(client, f"guess{n}@example.com", "wrong password")
    agent = factories.make_agent(org)
    assert sign_in(client, agent.email, factories.PASSWORD).status_code == 429
    other_address = client.post(
        "/login",
        data={"email": agent.email, "password": factories.PASSWORD},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other_address.status_code == 303


def test_success_clears_the_account_failures(app, client, agent):
    for _ in range(app.config["LOGIN_MAX_FAILURES"] - 1):
        sign_in(client, agent.email, "wrong password")
    assert sign_in(client, agent.email, factories.PASSWORD).status_code == 303
    assert db.session.scalar(
        select(LoginAttempt).where(LoginAttempt.key == f"pair:127.0.0.1|{agent.email}")
    ) is None


def test_the_right_password_works_once_the_lock_is_over(app, client, agent):
    from datetime import timedelta

    from helpdesk.db import write_transaction
    from helpdesk.models import utcnow

    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        sign_in(client, agent.email, "wrong password")
    with write_transaction():
        for row in db.session.scalars(select(LoginAttempt)):
            row.window_start = utcnow() - timedelta(hours=1)
            row.locked_until = utcnow() - timedelta(minutes=1)
    assert sign_in(client, agent.email, factories.PASSWORD).status_code == 303


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/tickets/T-1", "/tickets/T-1"),
        ("/?queue=open", "/?queue=open"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
    ],
)
def test_next_only_redirects_within_the_site(client, agent, target, expected):
    response = sign_in(client, agent.email, factories.PASSWORD, next=target)
    assert response.headers["Location"] == expected


def test_session_cookie_is_httponly_and_lax(client, agent):
    response = sign_in(client, agent.email, factories.PASSWORD)
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_cookies_are_secure_when_configured(app, client, agent):
    app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True)
    response = client.post(
        "/login",
        data={"email": agent.email, "password": factories.PASSWORD, "remember": "y"},
        base_url="https://localhost",
    )
    cookies = response.headers.getlist("Set-Cookie")
    session = next(v for v in cookies if v.startswith("session="))
    remember = next(v for v in cookies if v.startswith("remember_token="))
    assert "Secure" in session and "Secure" in remember and "HttpOnly" in remember


def test_remember_me_sets_a_remember_cookie_only_when_asked(client, agent):
    plain = sign_in(client, agent.email, factories.PASSWORD)
    assert not any(v.startswith("remember_token=") for v in plain.headers.getlist("Set-Cookie"))
    client.post("/logout")
    remembered = client.post(
        "/login", data={"email": agent.email, "password": factories.PASSWORD, "remember": "y"}
    )
    assert any(v.startswith("remember_token=") for v in remembered.headers.getlist("Set-Cookie"))


def test_logout_signs_out_with_303(client, agent):
    sign_in(client, agent.email, factories.PASSWORD)
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_logout_over_htmx_redirects_the_whole_page(client, agent):
    sign_in(client, agent.email, factories.PASSWORD)
    response = client.post("/logout", headers=HX)
    assert response.headers["HX-Redirect"] == "/login"


def test_signed_in_agent_visiting_login_goes_to_the_queue(nina_client):
    response = nina_client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/"
