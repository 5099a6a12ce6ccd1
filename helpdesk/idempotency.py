"""Idempotency keys: a retried create returns the first response and creates nothing.

`tickets.open_once` looks the key up and stores the response inside the same write
transaction as the creation, after taking the organization's lock, so concurrent retries
with one key are serialized: the first creates, the others find its stored response.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select

from .db import add_rows, write_transaction
from .extensions import db
from .models import IdempotencyKey, utcnow
from .validation import InvalidValue

MAX_KEY_LENGTH = 255
# A key older than this is forgotten: its next use starts afresh.
RETENTION = timedelta(hours=24)


class KeyConflict(Exception):
    """The key was used before with a different request body."""


@dataclass(frozen=True)
class Replay:
    status_code: int
    response: dict


def checked_key(key: str | None) -> str | None:
    """The Idempotency-Key header's value, trimmed; None without one."""
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        raise InvalidValue("Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters")
    return key


def request_hash(payload: object) -> str:
    """A digest of the decoded body, so that spacing and key order do not matter."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def lookup(org_id: int, endpoint: str, key: str, digest: str) -> Replay | None:
    """The stored response for this key, None when unused or expired; KeyConflict on
    another body. Only reads: creation may look a key up before its write transaction."""
    stored = db.session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.org_id == org_id,
            IdempotencyKey.endpoint == endpoint,
            IdempotencyKey.key == key,
        )
    )
    if stored is None:
        return None
    if utcnow() - stored.created_at > RETENTION:
        return None
    if stored.request_hash != digest:
        raise KeyConflict(key)
    return Replay(stored.status_code, stored.response)


def remember(
    org_id: int, endpoint: str, key: str, digest: str, status_code: int, response: dict
) -> None:
    """Store the response to replay for later requests with this key (in place of an
    expired one; the caller looked the key up under the organization's lock)."""
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.org_id == org_id, IdempotencyKey.endpoint == endpoint, IdempotencyKey.key == key
        )
    )
    add_rows(
        IdempotencyKey,
        dict(
            org_id=org_id,
            endpoint=endpoint,
            key=key,
            request_hash=digest,
            status_code=status_code,
            response=response,
        ),
    )


def forget_expired() -> int:
    """Delete keys past their retention (the worker does, every minute); how many went."""
    with write_transaction():
        result = db.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.created_at < utcnow() - RETENTION)
        )
    return result.rowcount
