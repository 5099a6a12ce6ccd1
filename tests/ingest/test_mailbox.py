"""The worker's IMAP poll against a real dovecot: every message ingested exactly once,
across polls, a crash before flagging and a worker restart; a broken server never
stops the worker."""

import logging
import shutil
import time

import pytest

from helpdesk import mailbox
from helpdesk.extensions import db
from helpdesk.models import Ticket

from ..servers import helpdesk_env, outbox_worker
from .conftest import counts, eml
from .imap import Dovecot

pytestmark = pytest.mark.slow


@pytest.fixture
def dovecot(tmp_path):
    if shutil.which("dovecot") is None:
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd; .ci/run does)")
    server = Dovecot(tmp_path / "imap")
    yield server
    server.stop()


@pytest.fixture
def poll(app, org, dovecot):
    """One poll of the test's dovecot for `org`, as the worker does it."""
    app.config.update(dovecot.settings(IMAP_ORG=org.slug))
    settings = mailbox.settings_from(app.config)

    def run() -> int:
        db.session.rollback()
        taken = mailbox.poll(settings)
        db.session.rollback()
        return taken

    return run


def numbered(n: int) -> bytes:
    """A new customer's mail with its own Message-ID and subject."""
    return eml("new_ticket.eml").replace(b"new-ticket-0001", f"imap-{n}".encode()).replace(
        b"Subject: Printer on fire", f"Subject: Mail {n}".encode()
    )


def test_each_message_is_ingested_once_across_polls_and_a_worker_restart(
    poll, dovecot, answer, ticket, org, tmp_path, database_url
):
    dovecot.append(numbered(1), answer("apple_mail_reply.eml"), eml("garbage.eml"))
    before = counts()
    assert poll() == 3
    assert poll() == 0
    after = counts()
    assert after["tickets"] == before["tickets"] + 1
    assert after["messages"] == before["messages"] + 1
    assert after["failures"] == before["failures"] + 1
    assert all({"\\Seen", mailbox.TAKEN} <= flags for flags in dovecot.flags().values())

    # A real `helpdesk worker`, started afresh, polls the same mailbox.
    dovecot.append(numbered(2))
    settings = {key: str(value) for key, value in dovecot.settings(IMAP_ORG=org.slug).items()}
    env = helpdesk_env(tmp_path / "instance", database_url, IMAP_POLL_SECONDS="0.2", **settings)
    with outbox_worker(env, log=tmp_path / "worker.log"):
        deadline = time.monotonic() + 30
        while counts()["tickets"] < before["tickets"] + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)  # a few more polls, which must take nothing
    subjects = sorted(db.session.scalars(db.select(Ticket.subject)))
    assert subjects == sorted(["Mail 1", "Mail 2", ticket.subject]), (tmp_path / "worker.log").read_text()
    assert counts()["messages"] == before["messages"] + 1
    assert counts()["failures"] == before["failures"] + 1
    assert len(dovecot.flags()) == 4 and all(mailbox.TAKEN in f for f in dovecot.flags().values())


def test_a_crash_before_flagging_reads_the_mail_again_and_stores_it_once(poll, dovecot, monkeypatch):
    dovecot.append(numbered(1))
    real_mark = mailbox.mark_taken

    def dies(imap, uid):
        raise OSError("connection reset")

    monkeypatch.setattr(mailbox, "mark_taken", dies)
    assert poll() == 0  # ingested and committed, but not flagged
    assert counts()["tickets"] == 1
    assert mailbox.TAKEN not in dovecot.flags()[1]
    monkeypatch.setattr(mailbox, "mark_taken", real_mark)
    assert poll() == 1  # read again: a duplicate, now flagged
    assert counts()["tickets"] == 1
    assert mailbox.TAKEN in dovecot.flags()[1]


def test_a_broken_server_is_logged_and_retried_next_poll(app, org, dovecot, caplog):
    caplog.set_level(logging.WARNING, logger="helpdesk.mailbox")
    refused = mailbox.settings_from(dovecot.settings(IMAP_ORG=org.slug, IMAP_PASSWORD="wrong"))
    assert mailbox.poll(refused) == 0
    closed = mailbox.settings_from(dovecot.settings(IMAP_ORG=org.slug, IMAP_PORT=1))
    assert mailbox.poll(closed) == 0
    assert [r.message.split(":")[1].strip() for r in caplog.records] == ["cannot connect"] * 2
    dovecot.append(numbered(1))
    good = mailbox.settings_from(dovecot.settings(IMAP_ORG=org.slug))
    assert mailbox.poll(good) == 1


def test_an_unknown_organization_leaves_mail_waiting(app, dovecot, caplog):
    dovecot.append(numbered(1))
    assert mailbox.poll(mailbox.settings_from(dovecot.settings(IMAP_ORG="nope"))) == 0
    assert "no organization with that slug" in caplog.text
    assert mailbox.TAKEN not in dovecot.flags()[1]


def test_settings_are_read_as_strings_with_the_port_by_tls():
    settings = mailbox.settings_from(
        {"IMAP_HOST": "imap.example.org", "IMAP_USERNAME": "desk", "IMAP_PASSWORD": 1234,
         "IMAP_ORG": "acme", "IMAP_TLS": "starttls"}
    )
    assert (settings.password, settings.port, settings.folder) == ("1234", 143, "INBOX")
    assert mailbox.settings_from({"IMAP_HOST": None}) is None
    with pytest.raises(RuntimeError, match="IMAP_PASSWORD"):
        mailbox.settings_from({"IMAP_HOST": "h", "IMAP_USERNAME": "u", "IMAP_ORG": "o"})
    with pytest.raises(RuntimeError, match="IMAP_TLS"):
        mailbox.settings_from({"IMAP_HOST": "h", "IMAP_TLS": "tls"})



def test_the_worker_keeps_running_while_the_mailbox_is_down(app, org, caplog):
    import threading

    from helpdesk.worker import Worker

    caplog.set_level(logging.WARNING, logger="helpdesk.mailbox")
    app.config.update(
        IMAP_HOST="127.0.0.1", IMAP_PORT=1, IMAP_TLS="none", IMAP_USERNAME="u", IMAP_PASSWORD="p",
        IMAP_ORG=org.slug, IMAP_POLL_SECONDS=0.05, OUTBOX_POLL_SECONDS=0.05,
    )
    worker = Worker(app)

    def run():
        with app.app_context():
            worker.run()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 10
    while caplog.text.count("cannot connect") < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert thread.is_alive()
    worker.stop()
    thread.join(timeout=10)
    assert caplog.text.count("cannot connect") >= 3  # tried again at every poll
