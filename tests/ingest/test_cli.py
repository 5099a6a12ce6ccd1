"""`helpdesk ingest-email --org SLUG`, as an MTA runs it: a real process, mail on stdin."""

import subprocess
import sys

import pytest

from helpdesk.extensions import db
from helpdesk.models import Channel, IngestFailure, Message, Ticket

from ..servers import ROOT, helpdesk_env
from .conftest import counts, eml

pytestmark = pytest.mark.slow


@pytest.fixture
def pipe(tmp_path, database_url, org):
    """Run `helpdesk ingest-email` with `raw` on standard input; returns the finished process."""
    env = helpdesk_env(tmp_path / "instance", database_url, BASE_URL="http://helpdesk.test")

    def run(raw: bytes, slug: str = org.slug) -> subprocess.CompletedProcess:
        db.session.rollback()
        result = subprocess.run(
            [sys.executable, "-m", "helpdesk.cli", "ingest-email", "--org", slug],
            input=raw, cwd=ROOT, env=env, capture_output=True, timeout=120,
        )
        db.session.rollback()
        return result

    return run


def test_a_new_mail_opens_a_ticket_and_the_same_mail_again_is_stored_once(pipe, org):
    first = pipe(eml("new_ticket.eml"))
    assert first.returncode == 0, first.stderr
    expected = f"opened: {org.ticket_prefix}-1 opened for nora@newcustomer.example"
    assert first.stdout.decode().startswith(expected)
    again = pipe(eml("new_ticket.eml"))
    assert again.returncode == 0 and again.stdout.decode().startswith("duplicate:")
    ticket = db.session.scalars(db.select(Ticket)).one()
    assert ticket.channel == Channel.EMAIL


def test_an_answer_through_the_pipe_lands_on_its_ticket(pipe, ticket, answer):
    result = pipe(answer("outlook_reply.eml"))
    assert result.returncode == 0, result.stderr
    expected = f"added: answer from carla@example.org added to {ticket.reference}"
    assert result.stdout.decode().strip() == expected
    message = db.session.scalars(db.select(Message).where(Message.ticket_id == ticket.id)).one()
    assert "Grüße aus Köln" in message.body


@pytest.mark.parametrize("fixture, action", [("auto_reply.eml", "ignored"), ("bounce.eml", "ignored"),
                                             ("garbage.eml", "failed"), ("bad_charset.eml", "failed")])
def test_ignored_and_bad_mail_exit_0(pipe, answer, fixture, action):
    before = counts()
    result = pipe(answer(fixture))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith(f"{action}:")
    assert b"Traceback" not in result.stderr
    failures = 1 if action == "failed" else 0
    assert counts() == before | {"failures": before["failures"] + failures}


def test_an_empty_stdin_is_a_failure_not_a_crash(pipe):
    result = pipe(b"")
    assert result.returncode == 0 and result.stdout.decode().startswith("failed: From: missing")
    assert db.session.scalar(db.select(db.func.count(IngestFailure.id))) == 1


def test_an_unknown_organization_is_a_usage_error(pipe):
    result = pipe(eml("new_ticket.eml"), slug="nope")
    assert result.returncode != 0
    assert "No organization with slug 'nope'" in result.stderr.decode()
    assert counts()["tickets"] == 0


def test_help_lists_ingest_email_without_loading_it(tmp_path):
    probe = (
        "import sys; from helpdesk.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED', [m for m in ('helpdesk.ingest', 'mailparser_reply') if m in sys.modules])\n"
    )
    env = helpdesk_env(tmp_path / "instance")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert "  ingest-email " in result.stdout and "LOADED []" in result.stdout, result.stderr
