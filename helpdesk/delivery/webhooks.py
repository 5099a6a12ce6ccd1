"""Composing and signing one webhook delivery (the webhooks themselves: helpdesk/webhooks.py).

Signature: `X-Helpdesk-Signature: sha256=<hex>`, the HMAC-SHA256 of
`<X-Helpdesk-Timestamp>.<raw body>` keyed with the webhook's secret. Receivers recompute
it, compare in constant time and reject old timestamps. `X-Helpdesk-Delivery` is the same
on every retry of one delivery, so receivers can drop duplicates.
"""

import hashlib
import hmac
import json
import time
from datetime import datetime

from ..extensions import db
from ..models import Webhook
from .errors import PermanentError


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
