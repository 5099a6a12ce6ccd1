"""The app under real gunicorn workers, as `make run` serves it."""

import re

import pytest
import requests

from . import factories


@pytest.mark.slow
def test_gunicorn_serves_login_and_an_agent_signs_in(live_server, org):
    factories.make_agent(org, email="nina@example.com")
    session = requests.Session()
    page = session.get(live_server.url + "/login", timeout=10)
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = session.post(
        live_server.url + "/login",
        data={"email": "nina@example.com", "password": factories.PASSWORD, "csrf_token": token},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.url == live_server.url + "/"
    assert 'id="queue"' in response.text


@pytest.mark.slow
def test_login_without_csrf_token_is_refused(live_server, org):
    factories.make_agent(org, email="omar@example.com")
    response = requests.post(
        live_server.url + "/login",
        data={"email": "omar@example.com", "password": factories.PASSWORD},
        timeout=10,
    )
    assert response.status_code == 400
