"""What every API view needs: the calling key and its organization, the validated body,
and the Idempotency-Key and answer of a creation."""

from flask import current_app, g, jsonify, request

from .. import accounts
from ..audit import Actor
from ..db import lock_organization
from ..extensions import db
from ..models import Organization
from ..tickets import Answer, Once
from . import schemas
from .errors import ApiError


def authenticate_request(secret: str | None) -> None:
    """Note the live key named by the header (as plain values), or 401."""
    key = accounts.authenticate_key(secret)
    if key is None:
        raise ApiError(401, "UNAUTHORIZED", "Invalid or missing API key")
    # Plain values: a commit expires ORM objects, and these are read inside transactions.
    g.org_id, g.key_name, g.key_scope = key.org_id, key.name, key.scope


def current_org(*, lock: bool = False) -> Organization:
    """The calling key's organization; `lock` serializes its writers (call inside a write)."""
    org = db.session.get(Organization, g.org_id)
    if lock:
        lock_organization(org.id)
    return org


def actor() -> Actor:
    """The audit trail names the API key that acted."""
    return Actor(label=f"API key {g.key_name}")


# An over-size body is read and dropped up to this much before the 413, so that the client
# (still sending) hears the answer instead of a reset connection; beyond it we just close.
DISCARD_MAX = 8 * 1024 * 1024


def too_large(limit: int, length: int | None = None):
    """Drop the unread body (never parsing or keeping it), then answer 413."""
    stream, remaining = request.environ["wsgi.input"], min(length or DISCARD_MAX, DISCARD_MAX)
    while remaining > 0:
        chunk = stream.read(min(64 * 1024, remaining))
        if not chunk:
            break
        remaining -= len(chunk)
    raise ApiError(413, "PAYLOAD_TOO_LARGE", f"Request body exceeds {limit} bytes")


def read_body(model: type[schemas.BaseModel]):
    """The request's JSON body as `model`, and the decoded JSON; else 400 naming the field."""
    raw = request.get_data(cache=False)
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # A streamed (chunked) body stops at the limit; one more byte says it went over.
    streamed = request.content_length is None
    if limit and len(raw) >= limit and streamed and request.environ["wsgi.input"].read(1):
        too_large(limit)
    try:
        data = schemas.parse_json(raw)
        return schemas.validate(model, data, metadata_context()), data
    except schemas.BadRequest as error:
        raise ApiError.invalid(error.details) from None


def metadata_context() -> dict:
    config = current_app.config
    return {
        "metadata_depth": config["METADATA_MAX_DEPTH"],
        "metadata_bytes": config["METADATA_MAX_BYTES"],
    }


def once(endpoint: str, payload: object) -> Once:
    """The request's Idempotency-Key for `tickets.open_once`."""
    return Once(endpoint=endpoint, key=request.headers.get("Idempotency-Key"), payload=payload)


def answer(created: Answer):
    """A creation's JSON response; a replay says so in `Idempotent-Replayed`."""
    response = jsonify(created.body)
    response.status_code = created.status
    if created.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
