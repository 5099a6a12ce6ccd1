"""Response headers and cookies by deployment: COOP always, HSTS and Secure cookies when the
instance is served over HTTPS, no remote images; out-of-range page numbers are 4xx."""

import pytest

from helpdesk import create_app
from helpdesk.models import Role

from . import factories
from .conftest import app_config


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


def test_every_answer_isolates_its_browsing_context(client):
    for path in ("/login", "/api/v1/tickets", "/nowhere"):
        assert client.get(path).headers["Cross-Origin-Opener-Policy"] == "same-origin", path


def test_remote_images_do_not_load(client):
    directives = csp_directives(client.get("/login"))
    assert directives["img-src"] == ["'self'", "data:"]


def test_plain_http_has_no_hsts_and_no_secure_cookies(client, agent):
    response = client.post("/login", data={"email": agent.email, "password": factories.PASSWORD})
    assert "Strict-Transport-Security" not in response.headers
    assert all("Secure" not in v for v in response.headers.getlist("Set-Cookie"))


@pytest.fixture
def https_app(tmp_path, database_url, monkeypatch, app):
    """A second app on the same database whose BASE_URL is https (nothing else set)."""
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path / "instance"))
    config = app_config(tmp_path, database_url)
    config["BASE_URL"] = "https://help.example.com"
    secure = create_app(config)
    with secure.app_context():
        yield secure


def test_https_base_url_turns_on_hsts_and_secure_cookies(https_app, org):
    agent = factories.make_agent(org)
    client = https_app.test_client()
    response = client.post(
        "/login",
        data={"email": agent.email, "password": factories.PASSWORD, "remember": "y"},
        base_url="https://help.example.com",
    )
    assert response.status_code == 303
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} == {"session", "remember_token"}
    assert all("Secure" in c and "HttpOnly" in c for c in cookies)


def test_a_huge_outbox_page_is_a_4xx(app, org):
    admin = app.test_client(user=factories.make_agent(org, role=Role.ADMIN))
    assert admin.get("/admin/outbox?page=2").status_code == 200
    for page in ("99999999999999999999999", "-1", "0"):
        response = admin.get(f"/admin/outbox?page={page}")
        assert response.status_code == 422, page
        assert "page" in response.text


def test_behind_a_proxy_the_clients_address_is_the_one_it_forwards(tmp_path, monkeypatch):
    from helpdesk import create_app

    from .conftest import app_config

    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(tmp_path / "instance"))
    seen = {}
    for proxies in (0, 1):
        app = create_app(app_config(tmp_path) | {"PROXIES": proxies})

        @app.get("/address")
        def address():
            from flask import request

            return request.remote_addr or ""

        forwarded = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
        proxy = {"REMOTE_ADDR": "10.0.0.1"}
        answer = app.test_client().get("/address", headers=forwarded, environ_base=proxy)
        seen[proxies] = answer.get_data(as_text=True)
    assert seen == {0: "10.0.0.1", 1: "203.0.113.7"}
