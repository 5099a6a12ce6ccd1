"""/admin/api-keys and the CLI: scopes, the secret shown once, revocation everywhere at once."""

import concurrent.futures

import requests

from helpdesk.cli import main
from helpdesk.extensions import db
from helpdesk.models import ApiKey, KeyScope

from .. import factories
from .conftest import HX, admin_events


def key_rows() -> list[ApiKey]:
    db.session.rollback()
    return list(db.session.scalars(db.select(ApiKey).order_by(ApiKey.id)))


def test_create_shows_the_secret_once(admin_client):
    response = admin_client.post("/admin/api-keys", data={"name": "Scripts", "scope": "admin"}, headers=HX)
    assert response.status_code == 201
    [key] = key_rows()
    assert key.scope == KeyScope.ADMIN
    secret = response.text.split('<code id="new-secret">')[1].split("</code>")[0]
    assert secret.startswith(key.prefix) and 'data-copy="#new-secret"' in response.text
    listing = admin_client.get("/admin/api-keys").text
    assert secret not in listing and f"{key.prefix}…" in listing
    [event] = admin_events(action="api_key.created")
    assert event.new_value == "admin" and secret not in event.target


def test_bad_scope_is_refused_naming_the_field(admin_client):
    response = admin_client.post("/admin/api-keys", data={"name": "X", "scope": "root"}, headers=HX)
    assert response.status_code == 422 and 'data-field="scope"' in response.text
    assert key_rows() == []


def test_revoke_on_the_page(admin_client, org):
    key, secret = factories.make_api_key(org, "Leaked")
    assert admin_client.post(f"/admin/api-keys/{key.public_id}/revoke", headers=HX).status_code == 200
    [row] = key_rows()
    assert row.revoked_at is not None
    assert admin_events(action="api_key.revoked")[0].target.startswith("Leaked")
    assert admin_client.get("/api/v1/tickets", headers={"X-API-Key": secret}).status_code == 401


def test_another_organizations_key_is_a_404(admin_client, other_org):
    key, _ = factories.make_api_key(other_org)
    assert admin_client.post(f"/admin/api-keys/{key.public_id}/revoke").status_code == 404
    assert key_rows()[0].revoked_at is None


def test_cli_creates_with_a_scope_and_revokes_by_name(app, org):
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["create-api-key", "--org", org.slug, "--name", "Ops", "--scope", "admin"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    [key] = key_rows()
    assert key.scope == KeyScope.ADMIN and secret.startswith(key.prefix)
    result = runner.invoke(main, ["create-api-key", "--org", org.slug, "--name", "Plain"])
    assert key_rows()[1].scope == KeyScope.TICKETS
    result = runner.invoke(main, ["revoke-api-key", "--org", org.slug, "--name", "Ops"])
    assert result.exit_code == 0, result.output
    assert key_rows()[0].revoked_at is not None and key_rows()[1].revoked_at is None
    result = runner.invoke(main, ["revoke-api-key", "--org", org.slug, "--name", "Ops"])
    assert result.exit_code != 0 and "No live API key" in result.output
    assert [e.source for e in admin_events()] == ["cli", "cli", "cli"]


def test_a_revoked_key_is_refused_by_every_worker_from_the_next_request(app, org, live_server):
    key, secret = factories.make_api_key(org, "Leaked")

    def call(_=None) -> int:
        # A new connection each time, so that requests spread over both workers.
        response = requests.get(
            live_server.url + "/api/v1/tickets",
            headers={"X-API-Key": secret, "Connection": "close"},
            timeout=10,
        )
        return response.status_code

    # The workers have served the key before it is revoked.
    assert [call() for _ in range(6)] == [200] * 6
    result = app.test_cli_runner().invoke(main, ["revoke-api-key", "--org", org.slug, "--name", "Leaked"])
    assert result.exit_code == 0, result.output
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(call, range(20))) == [401] * 20


def test_a_key_revoked_on_the_admin_page_is_refused_by_both_workers(app, org, admin_client, live_server):
    key, secret = factories.make_api_key(org, "Leaked")

    def call(_=None) -> int:
        response = requests.get(
            live_server.url + "/api/v1/tickets",
            headers={"X-API-Key": secret, "Connection": "close"},
            timeout=10,
        )
        return response.status_code

    assert [call() for _ in range(6)] == [200] * 6  # both workers have served it
    assert admin_client.post(f"/admin/api-keys/{key.public_id}/revoke", headers=HX).status_code == 200
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(call, range(20))) == [401] * 20
