"""Security events reach the server's log, named, with who and from where, and never a
secret (finding 10 of issue 16). Read from the log of a real gunicorn."""

import re
import time

import pytest
import requests

from helpdesk import accounts
from helpdesk.db import write_transaction
from helpdesk.extensions import db

from . import factories

pytestmark = pytest.mark.slow

WRONG_PASSWORD = "Wr0ng-horse-battery-staple"
UNKNOWN_KEY = "hd_unknown_0123456789abcdef0123456789abcdef"


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def read_log(path, until: str) -> str:
    """The log once `until` is in it (bounded: the workers write as they answer)."""
    for _ in range(50):
        text = path.read_text(errors="replace")
        if until in text:
            return text
        time.sleep(0.1)
    return path.read_text(errors="replace")


def test_security_events_are_logged_without_secrets(live_server, org, tmp_path):
    agent = factories.make_agent(org, email="nina@example.com")
    live_key, live_secret = factories.make_api_key(org, name="shop")
    revoked_key, revoked_secret = factories.make_api_key(org, name="leaked")
    with write_transaction():
        accounts.revoke_api_key(db.session.merge(revoked_key))
    url = live_server.url
    browser = requests.Session()

    token = token_of(browser.get(url + "/login").text)
    wrong = {"email": agent.email, "password": WRONG_PASSWORD, "csrf_token": token}
    failed = browser.post(url + "/login", data=wrong, timeout=10)
    assert failed.status_code == 401
    signed_in = browser.post(url + "/login", data={
        "email": agent.email, "password": factories.PASSWORD, "remember": "y",
        "csrf_token": token_of(browser.get(url + "/login").text),
    }, timeout=10)  # fmt: skip
    assert signed_in.status_code == 200 and "remember_token" in browser.cookies
    cookies = dict(browser.cookies)
    csrf = re.search(r'"X-CSRFToken": "([^"]+)"', signed_in.text).group(1)
    assert browser.post(url + "/preview", data={"body": "x"}, timeout=10).status_code == 400  # no token
    assert browser.get(url + "/admin/", timeout=10).status_code == 403  # not an admin
    api = f"{url}/api/v1/customers/nobody"
    assert requests.get(api, headers={"X-API-Key": live_secret}, timeout=10).status_code == 404
    for secret in (UNKNOWN_KEY, revoked_secret, ""):
        assert requests.get(api, headers={"X-API-Key": secret}, timeout=10).status_code == 401
    assert browser.post(url + "/logout", headers={"X-CSRFToken": csrf}, timeout=10).status_code == 200

    log = read_log(tmp_path / "gunicorn.log", "sign-out")
    events = [line for line in log.splitlines() if re.search(r"\b(sign-|api-key-|csrf-|forbidden)", line)]
    joined = "\n".join(events)
    assert f"sign-in-failed email={agent.email} agent={agent.public_id} reason=credentials" in joined
    assert f"sign-in agent={agent.public_id} org={org.slug}" in joined
    who = f"agent={agent.public_id} org={org.id} address=127.0.0.1"
    assert re.search(rf"csrf-refused reason=.+ {re.escape(who)}", joined)
    assert f"forbidden method=GET {who} path=/admin/" in joined
    assert "api-key-refused reason=unknown address=127.0.0.1" in joined
    assert f"api-key-refused reason=revoked org={org.id} key={revoked_key.id}" in joined
    assert "api-key-refused reason=missing" in joined
    assert f"sign-out agent={agent.public_id}" in joined
    passwords = [WRONG_PASSWORD, factories.PASSWORD]
    for secret in [*passwords, live_secret, UNKNOWN_KEY, revoked_secret, csrf, *cookies.values()]:
        assert secret not in log
    assert live_key.name == "shop"
