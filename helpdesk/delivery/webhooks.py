"""Outgoing webhooks: per-organization URLs that get signed JSON for ticket events.

Signature: `X-Helpdesk-Signature: sha256=<hex>`, the HMAC-SHA256 of
`<X-Helpdesk-Timestamp>.<raw body>` keyed with the webhook's secret. Receivers recompute
it, compare in constant time and reject old timestamps. `X-Helpdesk-Delivery` is the same
on every retry of one delivery, so receivers can drop duplicates.
"""

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime

from sqlalchemy import select

from ..enums import WEBHOOK_EVENTS
from ..extensions import db
from ..models import Organization, Webhook
from ..validation import InvalidValue
from .errors import DeliveryError, PermanentError
from .http import resolve

EVENTS = WEBHOOK_EVENTS


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for this body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def compose(
    outbox_id: int, org_id: int, payload: dict, created_at: datetime
) -> tuple[str, bytes, dict[str, str]]:
    """URL, body and headers of one webhook delivery."""
    hook = db.session.get(Webhook, payload.get("webhook_id"))
    if hook is None or hook.org_id != org_id or not hook.active:
        raise PermanentError("the webhook was deleted or disabled")
    body = json.dumps(
        {
            "id": str(outbox_id),
            "event": payload["event"],
            "createdAt": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": payload["data"],
        },
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Helpdesk-Webhooks/1",
        "X-Helpdesk-Event": payload["event"],
        "X-Helpdesk-Delivery": str(outbox_id),
        "X-Helpdesk-Timestamp": timestamp,
        "X-Helpdesk-Signature": sign(hook.secret, timestamp, body),
    }
    return hook.url, body, headers


def check_url(url: str, *, allow_private: bool) -> str:
    """A webhook URL we are willing to send to, or InvalidValue on field `url`."""
    url = url.strip()
    if len(url) > 500:
        raise InvalidValue("url", "URL must be at most 500 characters")
    try:
        resolve(url, allow_private=allow_private)
    except DeliveryError as error:  # a refused address, or a host that does not resolve
        raise InvalidValue("url", str(error)) from None
    return url


def create_webhook(
    org: Organization,
    url: str,
    *,
    secret: str | None = None,
    events: list[str] | tuple[str, ...] = (),
    allow_private: bool = False,
) -> Webhook:
    """A new webhook for the organization; with no events it hears all of them."""
    url = check_url(url, allow_private=allow_private)
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise InvalidValue("events", f"Unknown event {unknown[0]!r}; known: {', '.join(EVENTS)}")
    secret = secret.strip() if secret else secrets.token_hex(32)
    if not 16 <= len(secret) <= 128:
        raise InvalidValue("secret", "Secret must have 16 to 128 characters")
    hook = Webhook(org_id=org.id, url=url, secret=secret, events=list(dict.fromkeys(events)))
    db.session.add(hook)
    db.session.flush()
    return hook


def org_webhooks(org: Organization) -> list[Webhook]:
    """The organization's webhooks, oldest first."""
    return list(
        db.session.scalars(
            select(Webhook).where(Webhook.org_id == org.id).order_by(Webhook.created_at, Webhook.id)
        )
    )


def delete_webhook(hook: Webhook) -> None:
    """Remove a webhook; its queued deliveries then fail as 'deleted'."""
    db.session.delete(hook)
    db.session.flush()
