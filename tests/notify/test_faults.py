"""Faults with real processes: SMTP down, a worker killed mid-batch, two workers, shutdown."""

import collections
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from helpdesk.extensions import db
from helpdesk.models import Availability, OutboxMessage, OutboxStatus
from helpdesk.worker import claim

from .. import factories, servers
from ..conftest import PG_URL
from .conftest import outbox_rows, wait_until


def worker_env(tmp_path: Path, database_url: str, smtp_server, **settings) -> dict:
    """Settings for worker processes: this SMTP server, fast polling and retries, short lease."""
    base = dict(
        BASE_URL="http://helpdesk.test",
        OUTBOX_POLL_SECONDS=0.05,
        OUTBOX_BACKOFF_SECONDS=0.2,
        OUTBOX_BACKOFF_MAX_SECONDS=1,
        OUTBOX_MAX_ATTEMPTS=1000,
        OUTBOX_LEASE_SECONDS=2,
        OUTBOX_BATCH_SIZE=10,
        **smtp_server.settings(),
    )
    base.update(settings)
    return servers.helpdesk_env(tmp_path / "instance", database_url, **base)


def emails_for_tickets(org, count: int) -> set[str]:
    factories.make_agent(org, availability=Availability.AVAILABLE, capacity=count + 10)
    customer = factories.make_customer(org)
    for n in range(count):
        factories.make_ticket(org, customer=customer, subject=f"Fault {n}")
    rows = outbox_rows(kind="email")
    assert len(rows) == count
    return {f"<outbox-{row.id}@helpdesk.test>" for row in rows}


def all_sent() -> bool:
    return all(row.status == OutboxStatus.SENT for row in outbox_rows())


@pytest.mark.slow
def test_smtp_down_while_50_tickets_are_created_then_all_emails_arrive_once(
    live_server, smtp_server, org, tmp_path, database_url
):
    factories.make_agent(org, availability=Availability.AVAILABLE, capacity=100)
    factories.make_customer(org, external_id="user_42")
    _, api_key = factories.make_api_key(org)
    smtp_server.stop()
    env = worker_env(tmp_path, database_url, smtp_server)
    with servers.outbox_worker(env, log=tmp_path / "worker.log"):

        def create(n: int) -> requests.Response:
            return requests.post(
                live_server.url + "/api/v1/tickets/api-create",
                headers={"X-API-Key": api_key},
                json={"customerExternalId": "user_42", "subject": f"Order {n} stuck",
                      "description": "Payment failed", "priority": "HIGH"},
                timeout=30,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            responses = list(pool.map(create, range(50)))
        assert [r.status_code for r in responses] == [201] * 50
        assert all(r.json()["data"]["assignedAgent"] for r in responses)
        # The worker has tried and failed: SMTP is down.
        wait_until(lambda: len(outbox_rows(kind="email")) == 50
                   and all(row.attempts >= 1 and row.last_error for row in outbox_rows(kind="email")))
        assert smtp_server.mailbox.messages == []

        smtp_server.start()
        smtp_server.mailbox.wait_for(50, timeout=30)
        wait_until(all_sent)
    numbers = {r.json()["data"]["ticketNumber"] for r in responses}
    received = collections.Counter(m["X-Helpdesk-Ticket"] for m in smtp_server.mailbox.messages)
    assert set(received) == numbers
    assert set(received.values()) == {1}  # no duplicates: the worker never died


@pytest.mark.slow
def test_worker_killed_mid_batch_delivers_everything_after_restart(
    app, smtp_server, org, tmp_path, database_url
):
    expected = emails_for_tickets(org, 30)
    smtp_server.delay = 0.1  # each email is "in flight" for a while after the server has it
    env = worker_env(tmp_path, database_url, smtp_server)
    with servers.outbox_worker(env, log=tmp_path / "worker-1.log") as first:
        smtp_server.mailbox.wait_for(5, timeout=20)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    leased = {
        row.id: row.locked_until
        for row in outbox_rows()
        if row.status == OutboxStatus.PENDING and row.locked_until
    }
    assert leased, "the dead worker left rows of its batch leased"

    with servers.outbox_worker(env, log=tmp_path / "worker-2.log"):
        wait_until(all_sent, timeout=30)
    ids = smtp_server.mailbox.message_ids()
    assert set(ids) == expected  # every notification was delivered
    duplicates = len(ids) - len(set(ids))
    # At least once: only the email in flight when the worker died may arrive twice.
    assert duplicates <= 1
    # Its leased rows waited for the lease to run out before the new worker sent them.
    sent_at = {row.id: row.sent_at for row in outbox_rows() if row.id in leased}
    assert all(sent_at[row_id] >= until for row_id, until in leased.items())


@pytest.mark.slow
def test_two_workers_never_send_the_same_row(app, smtp_server, org, tmp_path, database_url):
    expected = emails_for_tickets(org, 60)
    smtp_server.delay = 0.02
    env = worker_env(tmp_path, database_url, smtp_server, OUTBOX_BATCH_SIZE=5)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    with servers.outbox_worker(env, log=logs[0]), servers.outbox_worker(env, log=logs[1]):
        wait_until(all_sent, timeout=40)
    ids = smtp_server.mailbox.message_ids()
    assert sorted(ids) == sorted(expected)  # each exactly once
    sent_by = [log.read_text().count(" sent (email") for log in logs]
    assert sum(sent_by) == 60 and min(sent_by) > 0, sent_by  # both took part


@pytest.mark.slow
def test_sigterm_finishes_the_email_in_flight_and_hands_back_the_batch(
    app, smtp_server, org, tmp_path, database_url
):
    expected = emails_for_tickets(org, 20)
    smtp_server.delay = 0.2
    # A long lease: rows not handed back would sit for a minute.
    env = worker_env(tmp_path, database_url, smtp_server, OUTBOX_BATCH_SIZE=20, OUTBOX_LEASE_SECONDS=60)
    with servers.outbox_worker(env, log=tmp_path / "worker.log") as worker:
        smtp_server.mailbox.wait_for(2, timeout=20)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=10) == 0
    rows = outbox_rows()
    sent = [row for row in rows if row.status == OutboxStatus.SENT]
    waiting = [row for row in rows if row.status == OutboxStatus.PENDING]
    assert len(sent) == len(smtp_server.mailbox.messages) >= 2  # the one in flight was recorded
    assert waiting and all(row.locked_until is None and row.attempts == 0 for row in waiting)
    handed_back_at = max(row.sent_at for row in sent)

    with servers.outbox_worker(env, log=tmp_path / "worker.log"):
        wait_until(all_sent, timeout=20)
    # Handed back, not waiting out the 60-second lease: sent well before it would end.
    later = [row.sent_at for row in outbox_rows() if row.id in {w.id for w in waiting}]
    assert max(later) < handed_back_at + timedelta(seconds=60)
    assert sorted(smtp_server.mailbox.message_ids()) == sorted(expected)


@pytest.mark.skipif(not PG_URL, reason="FOR UPDATE SKIP LOCKED is PostgreSQL's; SQLite serializes claims")
def test_postgres_claims_skip_rows_another_worker_holds(app, org):
    factories.make_agent(org, availability=Availability.AVAILABLE, capacity=50)
    for _ in range(6):
        factories.make_ticket(org)
    ids = [row.id for row in outbox_rows(kind="email")]
    other = db.engine.connect()
    transaction = other.begin()
    # Another worker, mid-claim: it holds row locks on the first three rows.
    other.execute(
        db.select(OutboxMessage.id).where(OutboxMessage.id.in_(ids[:3])).with_for_update()
    ).all()
    result = {}

    def claim_in_thread():
        with app.app_context():
            result["claims"] = claim(10, lease_seconds=60)

    thread = threading.Thread(target=claim_in_thread)
    thread.start()
    thread.join(timeout=10)
    blocked = thread.is_alive()
    transaction.rollback()
    other.close()
    thread.join(timeout=10)
    assert not blocked, "the claim waited for the other worker's locks"
    assert sorted(c.id for c in result["claims"]) == ids[3:]


@pytest.mark.slow
def test_serve_runs_the_worker_beside_gunicorn_and_stops_both(
    app, smtp_server, org, tmp_path, database_url
):
    factories.make_agent(org, availability=Availability.AVAILABLE)
    port = servers.free_port()
    env = worker_env(tmp_path, database_url, smtp_server)
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115
    serve = subprocess.Popen(
        [sys.executable, "-m", "helpdesk.cli", "serve", "--port", str(port), "--workers", "1",
         "--threads", "2"],
        cwd=servers.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        servers.wait_for_http(f"http://127.0.0.1:{port}/login", process=serve)
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        assert len(children) == 2  # gunicorn and the worker
        ticket = factories.make_ticket(org)
        [message] = smtp_server.mailbox.wait_for(1, timeout=20)
        assert message["X-Helpdesk-Ticket"] == ticket.reference
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(timeout=30) == 0
        for pid in children:
            assert not Path(f"/proc/{pid}").exists()  # serve waited for both
    finally:
        if serve.poll() is None:
            serve.kill()
            serve.wait()
        log.close()
