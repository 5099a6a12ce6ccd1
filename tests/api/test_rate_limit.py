"""Per-key rate limits: 429 with Retry-After in each contract's envelope, shared by workers."""

import uuid
from contextlib import contextmanager

import pytest
import requests

from helpdesk import create_app
from helpdesk.extensions import db

from .. import factories, servers
from ..conftest import app_config
from .test_supportdesk import assert_error

V1 = "/api/v1/tickets/api-create"
EXT = "/api/ext-v1/ticket/createTicket"
BODY = {"customerExternalId": "user_42", "subject": "x", "description": "y"}


@pytest.fixture
def limited(app, tmp_path, database_url):
    """A second app on the same database with rate limiting on: 3 requests a minute per key."""
    limited = create_app(
        app_config(tmp_path, database_url) | {"RATELIMIT_ENABLED": True, "RATELIMIT_API": "3 per minute"}
    )
    yield limited.test_client()
    with limited.app_context():
        db.engine.dispose()


def test_the_fourth_request_in_a_minute_is_429_with_retry_after(limited, secret, customer):
    headers = {"X-API-Key": secret}
    assert limited.post(V1, json=BODY, headers=headers).status_code == 201
    assert limited.get("/api/v1/customers/user_42", headers=headers).status_code == 200
    ext = limited.post(EXT, json={"title": "x", "customerEmail": "a@b.org"}, headers=headers)
    assert ext.status_code == 200
    assert ext.headers["X-RateLimit-Remaining"] == "0"

    refused = limited.post(V1, json=BODY, headers=headers)
    assert_error(refused, 429, "RATE_LIMITED")
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    refused_ext = limited.post(EXT, json={"title": "x", "customerEmail": "a@b.org"}, headers=headers)
    assert refused_ext.status_code == 429
    assert set(refused_ext.get_json()) == {"success", "message"}
    assert "Retry-After" in refused_ext.headers


def test_each_key_has_its_own_count(limited, org, customer):
    first, second = factories.make_api_key(org)[1], factories.make_api_key(org)[1]
    for _ in range(3):
        limited.get("/api/v1/customers/user_42", headers={"X-API-Key": first})
    assert limited.get("/api/v1/customers/user_42", headers={"X-API-Key": first}).status_code == 429
    assert limited.get("/api/v1/customers/user_42", headers={"X-API-Key": second}).status_code == 200


def test_the_openapi_document_is_not_limited(limited):
    assert {limited.get("/api/v1/openapi.json").status_code for _ in range(5)} == {200}


@contextmanager
def two_servers(tmp_path, database_url, **settings):
    """Two gunicorn processes on one instance folder and database: the two workers of
    `make run`, but each request's process known (one gunicorn's workers share a socket,
    and the kernel may give one of them every connection)."""
    env = servers.helpdesk_env(
        tmp_path / "instance", database_url, RATELIMIT_ENABLED="1", RATELIMIT_API="5 per minute", **settings
    )
    with (
        servers.gunicorn(env, workers=1, log=tmp_path / "a.log") as first,
        servers.gunicorn(env, workers=1, log=tmp_path / "b.log") as second,
    ):
        yield first, second


def twelve_requests(urls: tuple[str, str], secret: str) -> list[int]:
    """Twelve requests, taking turns between the two processes."""
    headers = {"X-API-Key": secret}
    return [
        requests.get(urls[n % 2] + "/api/v1/customers/user_42", headers=headers, timeout=10).status_code
        for n in range(12)
    ]


@pytest.mark.slow
def test_two_processes_share_one_count_by_default(org, customer, tmp_path, database_url):
    """What `make run` gets: no storage configured, one count in the instance folder."""
    secret = factories.make_api_key(org)[1]
    with two_servers(tmp_path, database_url) as urls:
        assert twelve_requests(urls, secret) == [200] * 5 + [429] * 7
    assert (tmp_path / "instance" / "ratelimits.db").stat().st_mode & 0o777 == 0o600


@pytest.mark.slow
def test_two_processes_share_one_count_in_redis(org, customer, tmp_path, database_url):
    secret = factories.make_api_key(org)[1]
    prefix = f"helpdesk-test-{uuid.uuid4().hex}"
    with two_servers(
        tmp_path, database_url, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/5", RATELIMIT_KEY_PREFIX=prefix
    ) as urls:
        assert twelve_requests(urls, secret) == [200] * 5 + [429] * 7
