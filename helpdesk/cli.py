"""The `helpdesk` command: a Flask CLI group."""

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup

from . import config, create_app
from .enums import WEBHOOK_EVENTS, Availability, Level, Role

# Commands import what they use when they run: `helpdesk --help` builds no app and loads
# no database layer.


class HelpdeskGroup(FlaskGroup):
    """Flask's command group, listing and finding our own commands without building the
    app or loading plugins; Flask's and Flask-Migrate's are found as Flask finds them."""

    def list_commands(self, ctx):
        return sorted(self.commands)

    def get_command(self, ctx, name):
        if name in self.commands:
            return self.commands[name]
        return super().get_command(ctx, name)


class Migrations(click.Group):
    """`helpdesk db ...`: Flask-Migrate's commands, imported when one is used."""

    def _db(self):
        from flask_migrate.cli import db

        return db

    def list_commands(self, ctx):
        return self._db().list_commands(ctx)

    def get_command(self, ctx, name):
        return self._db().get_command(ctx, name)


@click.group(cls=HelpdeskGroup, create_app=create_app, add_default_commands=True)
def main():
    """Helpdesk: a self-hosted helpdesk for small support teams."""


main.add_command(Migrations("db", help="Migrate the database schema (Flask-Migrate: upgrade, current, ...)."))


def _org(slug: str):
    from . import accounts

    org = accounts.org_by_slug(slug)
    if org is None:
        raise click.ClickException(f"No organization with slug {slug!r}.")
    return org


def _write(action):
    """Run `action` in one write transaction, turning bad values into a clean error."""
    from .db import write_transaction
    from .validation import InvalidValue

    try:
        with write_transaction():
            return action()
    except InvalidValue as error:
        raise click.ClickException(f"{error.field}: {error.message}") from None


@main.command("init", with_appcontext=False)
def init_command():
    """Create the instance folder and a secret key if needed, then migrate the schema."""
    from flask import Flask
    from flask_migrate import upgrade

    instance = Path(Flask("helpdesk", instance_path=config.instance_path()).instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    secret_file = instance / "secret_key"
    if not os.environ.get("HELPDESK_SECRET_KEY") and not secret_file.exists():
        secret_file.write_text(secrets.token_hex(32) + "\n")
        secret_file.chmod(0o600)
        click.echo(f"Created a secret key in {secret_file}")
    app = create_app()
    with app.app_context():
        upgrade(directory=str(config.MIGRATIONS))
    click.echo(f"Database ready: {app.config['SQLALCHEMY_DATABASE_URI']}")


@main.command("create-org")
@click.argument("name")
@click.option("--slug", required=True)
@click.option("--prefix", required=True, help="Ticket number prefix, e.g. INV")
@click.option("--monthly-quota", type=click.IntRange(min=0))
@click.option("--slack-webhook-url")
def create_org_command(name, slug, prefix, monthly_quota, slack_webhook_url):
    """Create an organization."""
    from . import accounts

    org = _write(lambda: accounts.create_org(name, slug, prefix, monthly_quota, slack_webhook_url))
    click.echo(f"Created organization {org.slug} ({org.ticket_prefix})")


@main.command("create-agent")
@click.option("--org", "org_slug", required=True)
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default="agent")
@click.option("--level", type=click.Choice([lv.value for lv in Level]), default="N1")
@click.option(
    "--availability", type=click.Choice([a.value for a in Availability]), default="offline"
)
@click.option("--capacity", type=click.IntRange(min=0), default=20)
def create_agent_command(org_slug, email, name, password, role, level, availability, capacity):
    """Create an agent who can sign in."""
    from . import accounts, assignment

    def action():
        org = _org(org_slug)
        agent = accounts.create_agent(
            org, email=email, name=name, password=password, role=Role(role),
            level=Level(level), availability=Availability(availability), capacity=capacity,
        )
        if agent.availability == Availability.AVAILABLE:
            assignment.pull_unassigned(agent)
        return agent

    agent = _write(action)
    click.echo(f"Created {agent.role} {agent.email} ({agent.level}, {agent.availability})")


def _cli_changer():
    """Who the admin audit log names for a change made here."""
    from . import admin_log

    return admin_log.Changer(label="helpdesk CLI", source="cli")


@main.command("create-api-key")
@click.option("--org", "org_slug", required=True)
@click.option("--name", required=True)
@click.option("--scope", type=click.Choice(["tickets", "admin"]), default="tickets", show_default=True,
              help="admin also opens the admin API (categories, tags, routing rules).")
def create_api_key_command(org_slug, name, scope):
    """Create an API key; the secret is printed once, alone on the last line."""
    from . import accounts, admin_log


    def action():
        key, secret = accounts.issue_api_key(_org(org_slug), name, scope)
        label = f"{key.name} ({key.prefix}…)"
        admin_log.record(key.org_id, _cli_changer(), "api_key.created", label, None, key.scope)
        return key, secret

    key, secret = _write(action)
    click.echo(f"Created API key {key.name!r} ({key.prefix}…, scope {key.scope}).")
    click.echo("Store it now; it is not shown again:")
    click.echo(secret)


@main.command("revoke-api-key")
@click.option("--org", "org_slug", required=True)
@click.option("--name", required=True)
def revoke_api_key_command(org_slug, name):
    """Revoke the organization's live API key of that name; refused from the next request."""
    from . import accounts


    def action():
        keys = accounts.live_keys_named(_org(org_slug).id, name)
        if not keys:
            raise click.ClickException(f"No live API key named {name!r}.")
        if len(keys) > 1:
            prefixes = ", ".join(f"{k.prefix}…" for k in keys)
            raise click.ClickException(
                f"{len(keys)} live keys are named {name!r} ({prefixes}); "
                "revoke the one you mean at /admin/api-keys."
            )
        [key] = keys
        accounts.revoke_api_key(key, _cli_changer())
        return key

    key = _write(action)
    click.echo(f"Revoked API key {key.name!r} ({key.prefix}…).")


@main.command("create-customer")
@click.option("--org", "org_slug", required=True)
@click.option("--external-id")
@click.option("--email")
@click.option("--name")
def create_customer_command(org_slug, external_id, email, name):
    """Create a customer (or update the one with that external id or email)."""
    from . import accounts
    from .customers import upsert_customer

    if not external_id and not email:
        raise click.UsageError("Give --external-id or --email (or both).")
    if email and not accounts.EMAIL.match(email.strip()):
        raise click.BadParameter("not a valid address", param_hint="--email")
    customer, created = _write(
        lambda: upsert_customer(_org(org_slug), external_id=external_id, email=email, name=name)
    )
    click.echo(f"{'Created' if created else 'Updated'} customer {customer.public_id}")


@main.command("set-availability")
@click.option("--org", "org_slug", required=True)
@click.option("--email", required=True)
@click.argument("availability", type=click.Choice([a.value for a in Availability]))
def set_availability_command(org_slug, email, availability):
    """Set an agent's availability; becoming available pulls waiting tickets."""
    from . import assignment
    from .extensions import db
    from .models import Agent

    def action():
        org = _org(org_slug)
        agent = db.session.scalar(
            db.select(Agent).where(Agent.org_id == org.id, Agent.email == email.strip().lower())
        )
        if agent is None:
            raise click.ClickException(f"No agent {email} in {org_slug}.")
        return agent, assignment.set_availability(agent, Availability(availability))

    agent, pulled = _write(action)
    click.echo(f"{agent.email} is {agent.availability}; {len(pulled)} ticket(s) assigned")


@main.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when an organization exists.")
def seed_demo_command(if_empty):
    """Create a demo organization with agents, customers, tickets and an API key."""
    from . import demo
    from .extensions import db
    from .models import Organization

    if db.session.scalar(db.select(Organization.id).limit(1)) is not None:
        if not if_empty:
            raise click.ClickException("The database has data already; seed-demo needs it empty.")
        click.echo(demo.saved_summary(Path(current_app.instance_path)))
        return
    summary = _write(lambda: demo.seed(current_app.config["BASE_URL"]))
    demo.save_summary(Path(current_app.instance_path), summary)
    click.echo(summary)


@main.command("create-webhook")
@click.option("--org", "org_slug", required=True)
@click.option("--url", required=True)
@click.option("--secret", help="Signing secret (16-128 characters); generated when omitted.")
@click.option("--event", "events", multiple=True, type=click.Choice(WEBHOOK_EVENTS),
              help="Repeat for several; none means every event.")
def create_webhook_command(org_slug, url, secret, events):
    """Create an outgoing webhook; prints its signing secret alone on the last line."""
    from . import webhooks

    allow_private = bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])
    hook = _write(
        lambda: webhooks.create_webhook(
            _org(org_slug), url, secret=secret, events=events, allow_private=allow_private
        )
    )
    click.echo(f"Created webhook {hook.public_id} for {', '.join(hook.events) or 'every event'}:")
    click.echo(hook.secret)


@main.command("ingest-email")
@click.option("--org", "org_slug", required=True, help="Slug of the organization the mail is for.")
def ingest_email_command(org_slug):
    """Take in one email from standard input (an MTA's pipe): an answer goes onto its
    ticket, other mail opens one. Exits 0 for every mail handled, ignored ones included;
    75 (EX_TEMPFAIL: the MTA retries) when the database cannot be reached."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import ingest

    org = _org(org_slug)
    raw = sys.stdin.buffer.read()
    try:
        outcome = ingest.ingest(org, raw)
    except SQLAlchemyError as error:
        click.echo(f"Database unavailable, try again later: {error.__class__.__name__}", err=True)
        sys.exit(75)
    click.echo(str(outcome))


@main.command("worker")
def worker_command():
    """Deliver the outbox (email, Slack, webhooks) until SIGTERM or SIGINT."""
    from flask.logging import default_handler

    from .worker import Worker

    # One handler, the root's: Flask's own (on the app's logger) would print each line twice.
    current_app.logger.removeHandler(default_handler)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [worker] %(message)s")
    worker = Worker(current_app)
    # Deliveries are background work: under CPU contention web requests go first.
    os.nice(int(current_app.config["OUTBOX_WORKER_NICE"]))
    # Finish the message in flight, hand back the rest of the batch, then exit.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: worker.stop())
    worker.run()


@main.command("serve", with_appcontext=False)
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--workers", default=2, type=int)
@click.option("--threads", default=4, type=int)
@click.option("--outbox-worker/--no-outbox-worker", default=True,
              help="Also run `helpdesk worker` (on by default).")
@click.option("--init", "run_init", is_flag=True, help="First do what `helpdesk init` does.")
@click.option("--seed-demo", is_flag=True, help="Then what `helpdesk seed-demo --if-empty` does.")
def serve_command(host, port, workers, threads, outbox_worker, run_init, seed_demo):
    """Serve with gunicorn, and the outbox worker beside it, until interrupted.

    With --init and --seed-demo one process prepares the database and the demo before
    serving (what `make run` does), instead of a cold start for each step.
    """
    ctx = click.get_current_context()
    if run_init:
        ctx.invoke(init_command)
    if seed_demo:
        ctx.invoke(seed_demo_command, if_empty=True)
    processes = [
        subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn", "helpdesk:create_app()",
                "--config", "python:helpdesk.gunicorn_conf",
                "--bind", f"{host}:{port}", "--workers", str(workers), "--threads", str(threads),
                "--access-logfile", "-",
                # The app is built once, before the workers fork, instead of once in each.
                "--preload",
            ]
        )
    ]
    if outbox_worker:
        processes.append(subprocess.Popen([sys.executable, "-m", "helpdesk.cli", "worker"]))
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    # Both run until a signal, or until one of them exits: then both stop.
    while not stopping.is_set() and all(process.poll() is None for process in processes):
        stopping.wait(0.5)
    for process in processes:
        if process.poll() is None:
            process.terminate()
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=30))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    sys.exit(next((code for code in codes if code not in (0, -signal.SIGTERM)), 0))


if __name__ == "__main__":
    main()
