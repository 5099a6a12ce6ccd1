"""Every query, form and path value is checked as the API's bodies are: a NUL byte is a 400
naming the field, never a 500 (PostgreSQL cannot store one), and log lines escape control
characters. Run with HELPDESK_TEST_DATABASE_URL for PostgreSQL."""

import io
import logging

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from helpdesk.extensions import db
from helpdesk.models import AgentSession, LoginAttempt, Role

from . import factories


@pytest.fixture
def admin_client(app, org):
    return app.test_client(user=factories.make_agent(org, role=Role.ADMIN))


def routes(app, method, value="x"):
    """Every rule answering `method`, with made-up path values (the check runs before any view)."""
    for rule in app.url_map.iter_rules():
        if method not in rule.methods or rule.endpoint == "static":
            continue
        if value != "x" and not rule.arguments:
            continue
        values = {
            name: 1 if isinstance(converter, IntegerConverter) else value
            for name, converter in rule._converters.items()
        }
        yield rule.build(values, append_unknown=False)[1]


def names_the_field(response, field):
    if response.is_json:
        body = response.get_json()
        details = body.get("error", {}).get("details") or []
        return any(d["field"] == field for d in details) or field in body.get("message", "")
    return field in response.text


def test_a_nul_in_any_query_value_is_a_400_naming_it(app, admin_client):
    paths = list(routes(app, "GET"))
    assert len(paths) > 15
    for path in paths:
        response = admin_client.get(path, query_string={"probe": "a\x00b"})
        assert response.status_code == 400, path
        assert names_the_field(response, "probe"), path


def test_a_nul_in_any_form_value_is_a_400_naming_it(app, admin_client):
    paths = list(routes(app, "POST"))
    assert len(paths) > 10
    for path in paths:
        response = admin_client.post(path, data={"probe": "\x00"})
        assert response.status_code == 400, path
        assert names_the_field(response, "probe"), path


def test_a_nul_in_a_path_value_is_never_a_500(app, admin_client, org):
    factories.make_ticket(org)
    for method in ("GET", "POST"):
        for path in routes(app, method, value="T-1\x00"):
            response = admin_client.open(path, method=method)
            assert response.status_code < 500, (method, path)


def test_sign_in_with_a_nul_is_a_400_and_writes_nothing(app, client, agent):
    for data in (
        {"email": agent.email + "\x00", "password": "x"},
        {"email": agent.email, "password": factories.PASSWORD + "\x00"},
    ):
        response = client.post("/login", data=data)
        assert response.status_code == 400
        assert next(iter(k for k, v in data.items() if "\x00" in v)) in response.text
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 0
    assert db.session.scalar(select(func.count()).select_from(AgentSession)) == 0
    assert client.post("/login?next=/%00", data={"email": agent.email, "password": "x"}).status_code == 400


def test_api_query_values_answer_in_the_api_envelope(app, org):
    _, secret = factories.make_api_key(org)
    response = app.test_client().get(
        "/api/v1/tickets", query_string={"status": "open\x00"}, headers={"X-API-Key": secret}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.get_json()["error"]["details"] == [
        {"field": "status", "message": "must not contain NUL characters"}
    ]


def test_tabs_and_newlines_in_form_values_are_fine(admin_client):
    response = admin_client.post("/preview", data={"body": "line one\r\n\tline two"})
    assert response.status_code == 200


@pytest.fixture
def captured_log(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    app.logger.addHandler(handler)
    yield stream
    app.logger.removeHandler(handler)


def test_log_lines_escape_control_characters(app, captured_log):
    app.logger.warning("sign-in failed for %s", "a@example.com\nINFO forged line\r\x1b[31m\x00")
    lines = captured_log.getvalue().splitlines()
    assert lines == ["WARNING sign-in failed for a@example.com\\nINFO forged line\\r\\x1b[31m\\x00"]


def test_the_500_handler_cannot_be_made_to_forge_a_log_line(app, client, captured_log):
    @app.get("/_test/boom/<rest>")
    def boom(rest):
        raise RuntimeError("boom")

    response = client.get("/_test/boom/a%0AERROR%20forged%0D")
    assert response.status_code == 500
    output = captured_log.getvalue()
    assert "Unhandled error on GET /_test/boom/a\\nERROR forged\\r" in output
    assert not any(line.startswith("ERROR forged") for line in output.splitlines())
