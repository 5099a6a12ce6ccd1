"""The outbox worker: claim due deliveries, send them, record what happened.

A claim is a short write transaction that leases rows to this worker (`locked_until`)
and counts the attempt; sending happens after it commits, outside any transaction, so a
slow SMTP server never holds the database; the outcome is recorded in a new transaction.
On PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`, so several workers take disjoint
rows without waiting on each other; on SQLite claims queue on the write lock.

Delivery is at least once: a worker that dies after sending but before recording it
leaves its row leased; when the lease runs out another worker sends it again. That can
duplicate only the message in flight when the worker died (one per dead worker); emails
keep their Message-ID and webhooks their X-Helpdesk-Delivery id, so receivers can drop
the duplicate.
"""

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import auth, delivery, idempotency, mailbox, notify
from .db import is_sqlite, write_transaction
from .extensions import db
from .models import LiveEvent, OutboxMessage, OutboxStatus, utcnow

log = logging.getLogger("helpdesk.worker")


@dataclass(frozen=True)
class Claim:
    """One leased outbox row, as plain values so that it outlives the transaction."""

    id: int
    org_id: int
    kind: str
    payload: dict
    attempts: int
    created_at: datetime
    message_id: int | None = None  # the conversation message it delivers


def claim(limit: int, lease_seconds: float) -> list[Claim]:
    """Lease up to `limit` due rows to the caller and count the attempt."""
    now = utcnow()
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.next_attempt_at <= now,
            or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    with write_transaction():
        if not is_sqlite():
            query = query.with_for_update(skip_locked=True)
        rows = db.session.scalars(query).all()
        claims = []
        for row in rows:
            # Counted at claim time: a message that crashes its worker still runs out of attempts.
            row.attempts += 1
            row.locked_until = now + timedelta(seconds=lease_seconds)
            claims.append(
                Claim(row.id, row.org_id, row.kind, row.payload, row.attempts, row.created_at, row.message_id)
            )
    return claims


def backoff(attempts: int, base: float, cap: float) -> float:
    """Seconds before the next attempt: doubling from `base`, capped, with equal jitter."""
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


def mark_sent(claimed: Claim) -> None:
    """Record a successful delivery."""
    with write_transaction():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(status=OutboxStatus.SENT, sent_at=utcnow(), locked_until=None, last_error=None)
        )
        _show_on_ticket(claimed)


def _show_on_ticket(claimed: Claim) -> None:
    """A reply's email shows its delivery state on the ticket page, which refreshes."""
    ticket_id = claimed.payload.get("ticket_id")
    if claimed.message_id is not None and claimed.kind == "email" and ticket_id:
        notify.delivery_changed(claimed.org_id, ticket_id)


def mark_failed(claimed: Claim, error: str, *, permanent: bool) -> bool:
    """Record a failure: retry later with backoff, or give up. True when it gave up."""
    config = current_app.config
    give_up = permanent or claimed.attempts >= config["OUTBOX_MAX_ATTEMPTS"]
    values: dict = {"locked_until": None, "last_error": error[:2000]}
    if give_up:
        values["status"] = OutboxStatus.FAILED
    else:
        delay = backoff(
            claimed.attempts, config["OUTBOX_BACKOFF_SECONDS"], config["OUTBOX_BACKOFF_MAX_SECONDS"]
        )
        values["next_attempt_at"] = utcnow() + timedelta(seconds=delay)
    with write_transaction():
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == claimed.id, OutboxMessage.status == OutboxStatus.PENDING)
            .values(**values)
        )
        _show_on_ticket(claimed)
    return give_up


def release(claims: list[Claim]) -> None:
    """Hand back leased rows that were not attempted, so that any worker takes them now."""
    if not claims:
        return
    with write_transaction():
        for claimed in claims:
            db.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == claimed.id, OutboxMessage.status == OutboxStatus.PENDING)
                .values(locked_until=None, attempts=OutboxMessage.attempts - 1)
            )


def process(claimed: Claim) -> bool:
    """Send one claimed message and record the outcome; True when it was sent."""
    try:
        try:
            outgoing = delivery.prepare(
                claimed.id, claimed.org_id, claimed.kind, claimed.payload, claimed.created_at,
                claimed.message_id,
            )  # fmt: skip
        finally:
            db.session.rollback()  # end the read transaction before the network
        outgoing.send()
    except delivery.PermanentError as error:
        mark_failed(claimed, str(error), permanent=True)
        log.warning("outbox #%s (%s) failed for good: %s", claimed.id, claimed.kind, error)
        return False
    except delivery.DeliveryError as error:
        gave_up = mark_failed(claimed, str(error), permanent=False)
        log.warning(
            "outbox #%s (%s) attempt %s %s: %s", claimed.id, claimed.kind, claimed.attempts,
            "failed for good" if gave_up else "failed, will retry", error,
        )
        return False
    except Exception as error:
        # A bug in composing one message must not stop the others.
        log.exception("outbox #%s (%s) crashed", claimed.id, claimed.kind)
        mark_failed(claimed, f"{error.__class__.__name__}: {error}", permanent=False)
        return False
    mark_sent(claimed)
    log.info("outbox #%s sent (%s to %s)", claimed.id, claimed.kind, outgoing.target)
    return True


def prune_live_events(keep_seconds: float) -> int:
    """Delete live signals older than `keep_seconds`; returns how many went.

    The newest signal always stays: SQLite would otherwise hand its id out again, and a page
    whose cursor is past the reused ids would miss the signals that carry them.
    """
    with write_transaction():
        newest = select(func.max(LiveEvent.id)).scalar_subquery()
        result = db.session.execute(
            delete(LiveEvent).where(
                LiveEvent.created_at < utcnow() - timedelta(seconds=keep_seconds),
                LiveEvent.id < newest,
            )
        )
    return result.rowcount


class Worker:
    """Runs claim → send → record until stopped; `stop()` is safe from a signal handler."""

    def __init__(self, app: Flask):
        config = app.config
        self.batch_size = int(config["OUTBOX_BATCH_SIZE"])
        self.lease = float(config["OUTBOX_LEASE_SECONDS"])
        self.poll = float(config["OUTBOX_POLL_SECONDS"])
        self.keep_signals = float(config["LIVE_EVENTS_KEEP_SECONDS"])
        self.next_prune = 0.0
        self.mailbox = mailbox.Poller.from_config(config)  # None without HELPDESK_IMAP_HOST
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def run_once(self) -> int:
        """Claim one batch and work through it; returns how many rows it claimed."""
        claims = claim(self.batch_size, self.lease)
        # Start no send after half the lease: the rest is margin for that send to finish
        # before another worker may take the row.
        deadline = time.monotonic() + self.lease / 2
        for index, claimed in enumerate(claims):
            if self.stopping.is_set() or time.monotonic() > deadline:
                release(claims[index:])
                break
            process(claimed)
        return len(claims)

    def run(self) -> None:
        """Deliver until `stop()`; waits `poll` seconds whenever nothing is due."""
        log.info("outbox worker started (batch %s, lease %ss)", self.batch_size, self.lease)
        while not self.stopping.is_set():
            try:
                claimed = self.run_once()
                if self.mailbox is not None:
                    self.mailbox.poll_if_due(time.monotonic())
                if time.monotonic() >= self.next_prune:
                    prune_live_events(self.keep_signals)
                    idempotency.forget_expired()
                    auth.forget_sessions()
                    self.next_prune = time.monotonic() + 60
            except SQLAlchemyError:
                # The database may be restarting; try again after a pause.
                log.exception("outbox worker: database error")
                db.session.rollback()
                claimed = 0
            if claimed < self.batch_size:
                self.stopping.wait(self.poll)
        log.info("outbox worker stopped")
