"""The `helpdesk` command line, including its error paths."""

import pytest
from click.testing import CliRunner
from werkzeug.security import check_password_hash

from helpdesk.accounts import hash_key
from helpdesk.cli import main
from helpdesk.extensions import db
from helpdesk.models import Agent, ApiKey, Customer, Organization, Ticket

from . import factories


@pytest.fixture
def cli(runner):
    def invoke(*args):
        db.session.rollback()  # let the command see, and the test then read, fresh data
        result = runner.invoke(main, list(args))
        db.session.rollback()
        return result

    return invoke


def test_init_creates_instance_secret_and_schema_and_is_repeatable(tmp_path, monkeypatch):
    instance = tmp_path / "fresh-instance"
    monkeypatch.setenv("HELPDESK_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("HELPDESK_SECRET_KEY", raising=False)
    monkeypatch.delenv("HELPDESK_DATABASE_URL", raising=False)
    first = CliRunner().invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    secret = (instance / "secret_key").read_text()
    assert len(secret.strip()) == 64
    assert (instance / "secret_key").stat().st_mode & 0o077 == 0
    assert (instance / "helpdesk.db").exists()
    second = CliRunner().invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert (instance / "secret_key").read_text() == secret  # the secret is kept
    import sqlite3

    with sqlite3.connect(instance / "helpdesk.db") as connection:
        assert connection.execute("SELECT count(*) FROM organizations").fetchone() == (0,)


def test_create_org(cli):
    result = cli("create-org", "Acme", "--slug", "acme", "--prefix", "ACM", "--monthly-quota", "100")
    assert result.exit_code == 0, result.output
    org = db.session.scalar(db.select(Organization).where(Organization.slug == "acme"))
    assert (org.name, org.ticket_prefix, org.monthly_quota) == ("Acme", "ACM", 100)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--slug", "Bad Slug", "--prefix", "X"], "slug"),
        (["--slug", "ok", "--prefix", "lower"], "prefix"),
        (["--slug", "ok", "--prefix", "OK", "--slack-webhook-url", "http://x"], "slack"),
    ],
)
def test_create_org_rejects_bad_values(cli, args, message):
    result = cli("create-org", "Acme", *args)
    assert result.exit_code != 0
    assert message in result.output.lower()
    assert db.session.scalar(db.select(db.func.count(Organization.id))) == 0


def test_create_org_refuses_duplicate_slug(cli, org):
    result = cli("create-org", "Again", "--slug", org.slug, "--prefix", "AG")
    assert result.exit_code == 1
    assert "exists already" in result.output


def test_create_agent(cli, org):
    result = cli(
        "create-agent", "--org", org.slug, "--email", "Nina@Example.com", "--name", "Nina",
        "--password", "s3cret-pass", "--role", "admin", "--level", "N2",
        "--availability", "available", "--capacity", "5",
    )
    assert result.exit_code == 0, result.output
    agent = db.session.scalar(db.select(Agent).where(Agent.email == "nina@example.com"))
    assert (agent.role, agent.level, agent.availability, agent.capacity) == (
        "admin", "N2", "available", 5
    )
    assert check_password_hash(agent.password_hash, "s3cret-pass")
    assert "s3cret-pass" not in agent.password_hash


@pytest.mark.parametrize(
    "args, message",
    [
        (["--org", "nope"], "No organization"),
        (["--level", "N4"], "N4"),
        (["--role", "boss"], "boss"),
        (["--password", "short"], "password"),
        (["--email", "not-an-email"], "email"),
    ],
)
def test_create_agent_errors(cli, org, args, message):
    base = {"--org": org.slug, "--email": "x@example.com", "--name": "X", "--password": "long-enough"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    result = cli("create-agent", *[part for pair in base.items() for part in pair])
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(db.select(db.func.count(Agent.id))) == 0


def test_create_agent_refuses_duplicate_email(cli, org, agent):
    result = cli(
        "create-agent", "--org", org.slug, "--email", agent.email.upper(), "--name", "Dup",
        "--password", "long-enough",
    )
    assert result.exit_code == 1
    assert "exists already" in result.output


def test_create_api_key_prints_secret_on_last_line_and_stores_only_a_hash(cli, org):
    result = cli("create-api-key", "--org", org.slug, "--name", "Shop")
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    key = db.session.scalar(db.select(ApiKey))
    assert key.key_hash == hash_key(secret)
    assert secret.startswith(key.prefix) and len(key.prefix) < len(secret) // 3
    assert secret not in (key.key_hash, key.prefix)


def test_create_api_key_unknown_org(cli):
    result = cli("create-api-key", "--org", "ghost", "--name", "Shop")
    assert result.exit_code == 1
    assert "No organization" in result.output


def test_create_customer_and_update_it(cli, org):
    assert cli("create-customer", "--org", org.slug, "--external-id", "u1").exit_code == 0
    result = cli("create-customer", "--org", org.slug, "--external-id", "u1", "--email", "U1@x.org")
    assert "Updated" in result.output
    customer = db.session.scalar(db.select(Customer))
    assert (customer.external_id, customer.email) == ("u1", "u1@x.org")


@pytest.mark.parametrize(
    "args, message",
    [([], "--external-id or --email"), (["--email", "nope"], "valid address")],
)
def test_create_customer_errors(cli, org, args, message):
    result = cli("create-customer", "--org", org.slug, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_set_availability_pulls_waiting_tickets(cli, org):
    agent = factories.make_agent(org, capacity=2)
    for _ in range(3):
        factories.make_ticket(org)
    result = cli("set-availability", "--org", org.slug, "--email", agent.email, "available")
    assert result.exit_code == 0, result.output
    assert "2 ticket(s) assigned" in result.output
    assigned = db.session.scalar(
        db.select(db.func.count(Ticket.id)).where(Ticket.assignee_id == agent.id)
    )
    assert assigned == 2


def test_set_availability_unknown_agent(cli, org):
    result = cli("set-availability", "--org", org.slug, "--email", "who@x.org", "away")
    assert result.exit_code == 1
    assert "No agent" in result.output


def test_seed_demo_then_if_empty_reuses(cli, app):
    result = cli("seed-demo")
    assert result.exit_code == 0, result.output
    assert "admin@example.com" in result.output and "curl" in result.output
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) >= 5
    assigned = db.session.scalar(
        db.select(db.func.count(Ticket.id)).where(Ticket.assignee_id.is_not(None))
    )
    assert assigned >= 1
    again = cli("seed-demo", "--if-empty")
    assert again.exit_code == 0 and "existing database" in again.output
    assert cli("seed-demo").exit_code == 1
