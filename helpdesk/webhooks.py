"""Outgoing webhooks: per-organization URLs that get signed JSON for ticket events.

Admins manage them on `/admin/webhooks` or with `helpdesk create-webhook`; the worker
sends each delivery (helpdesk/delivery/webhooks.py composes and signs it). Every function
runs in the caller's write transaction.
"""

import secrets

from sqlalchemy import select

from .delivery.errors import DeliveryError
from .delivery.http import resolve
from .enums import WEBHOOK_EVENTS
from .extensions import db
from .models import Organization, Webhook
from .validation import InvalidValue

EVENTS = WEBHOOK_EVENTS


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
