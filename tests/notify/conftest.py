"""Real receivers for deliveries: an SMTP server (aiosmtpd) and an HTTP server, on 127.0.0.1."""

import asyncio
import json
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from helpdesk.extensions import db
from helpdesk.models import Availability, OutboxMessage

from .. import factories
from ..servers import free_port


class Mailbox:
    """What an SMTP server received; waits are bounded."""

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._changed = threading.Condition()

    def add(self, message: EmailMessage, mail_from: str, rcpt_tos: list[str]) -> None:
        with self._changed:
            self.messages.append(message)
            self.envelopes.append((mail_from, rcpt_tos))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """Block until `count` messages arrived; fail after `timeout` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} of {count} emails arrived in {timeout} s")
            return list(self.messages)

    def message_ids(self) -> list[str]:
        with self._changed:
            return [message["Message-ID"] for message in self.messages]


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.server.mailbox.add(message, envelope.mail_from, list(envelope.rcpt_tos))
        if self.server.delay:
            # Accepted but not yet confirmed: the window in which a killed client re-sends.
            await asyncio.sleep(self.server.delay)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on a fixed port that can be stopped and started again."""

    def __init__(self):
        self.host = "127.0.0.1"
        self.port = free_port()
        self.mailbox = Mailbox()
        self.delay = 0.0
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self) -> dict:
        """HELPDESK_* settings (also app config keys) that point the app at this server."""
        return {"SMTP_HOST": self.host, "SMTP_PORT": self.port, "SMTP_FROM": "desk@helpdesk.test"}


@pytest.fixture
def smtp_server():
    """A running SMTP server; `smtp_server.stop()`/`start()` take it down and back up."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


class Request:
    def __init__(self, path: str, headers: dict, body: bytes):
        self.path, self.headers, self.body = path, headers, body

    def json(self):
        return json.loads(self.body)


class HttpReceiver:
    """An HTTP server that records every POST and answers with the statuses it is given."""

    def __init__(self):
        self.requests: list[Request] = []
        self.statuses: list[int] = []  # answered in turn; then 200
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._changed:
                    receiver.requests.append(Request(self.path, dict(self.headers), body))
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Request]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.requests) >= count, timeout):
                raise AssertionError(f"{len(self.requests)} of {count} requests arrived in {timeout} s")
            return list(self.requests)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def http_receiver():
    receiver = HttpReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def notify_app(app, smtp_server):
    """The test app pointed at the SMTP server, with fast retries and private targets allowed."""
    app.config.update(smtp_server.settings())
    app.config.update(
        WEBHOOK_ALLOW_PRIVATE=True, OUTBOX_BACKOFF_SECONDS=0.01, OUTBOX_BACKOFF_MAX_SECONDS=0.05
    )
    return app


@pytest.fixture
def available_agent(org):
    return factories.make_agent(org, availability=Availability.AVAILABLE, capacity=200)


def outbox_rows(**where) -> list[OutboxMessage]:
    """All outbox rows (fresh from the database), oldest first."""
    db.session.rollback()
    query = db.select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def wait_until(condition, timeout: float = 15.0, interval: float = 0.05):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")
