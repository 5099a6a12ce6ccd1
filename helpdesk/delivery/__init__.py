"""Sending one outbox message: email over SMTP, a Slack message, or a signed webhook.

`prepare` reads what it needs from the database and returns a `Delivery` whose `send()`
only talks to the network, so the worker can end its database transaction first.
Failures raise `DeliveryError` (retry later) or `PermanentError` (give up now).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app

from . import http, mail, slack, webhooks
from .errors import DeliveryError, PermanentError

__all__ = ["Delivery", "DeliveryError", "PermanentError", "prepare"]


@dataclass(frozen=True)
class Delivery:
    """A composed message, ready to go out."""

    kind: str
    target: str  # for logs: a recipient or a host, never a secret
    send: Callable[[], None]


def prepare(
    outbox_id: int, org_id: int, kind: str, payload: dict, created_at: datetime, message_id: int | None = None
) -> Delivery:
    """Compose the message an outbox row stands for (`message_id`: the reply it delivers)."""
    config = dict(current_app.config)
    allow_private = bool(config["WEBHOOK_ALLOW_PRIVATE"])
    timeout = float(config["WEBHOOK_TIMEOUT"])
    if kind == "email":
        email = mail.compose(outbox_id, org_id, payload, message_id)
        return Delivery(kind, email["To"], lambda: mail.send(email, config))
    if kind == "slack":
        url, body = payload["url"], slack.compose(payload)
        headers = {"Content-Type": "application/json; charset=utf-8"}
    elif kind == "webhook":
        url, body, headers = webhooks.compose(outbox_id, org_id, payload, created_at)
    else:
        raise PermanentError(f"unknown outbox kind {kind!r}")

    def send() -> None:
        http.post(url, body, headers, timeout=timeout, allow_private=allow_private)

    # Slack URLs carry their secret in the path: logs name the host only.
    return Delivery(kind, urlsplit(url).hostname or "?", send)
