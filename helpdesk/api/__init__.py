"""The JSON API: key-authenticated, CSRF-exempt, one module per contract.

`/api/v1/…` is Supportdesk's contract and our native API around it (v1.py), and the admin
API for categories, tags and routing rules (admin.py); `/api/ext-v1/…`
is Telemetron's (ext.py); docs.py serves the OpenAPI document and the docs page. One guard
here sizes, authenticates and rate-limits every request of both.
"""

import hashlib
import logging

from flask import Blueprint, current_app, g, request

from .. import logs
from ..catalog import NameTaken
from ..customers import CustomerNotFound
from ..extensions import csrf, limiter
from ..idempotency import KeyConflict
from ..tickets import QuotaReached
from ..validation import InvalidValue
from . import admin, docs, ext, v1
from .context import authenticate_request, too_large
from .errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api")
for child in (v1.bp, admin.bp, ext.bp, docs.bp):
    bp.register_blueprint(child)
    csrf.exempt(child)
csrf.exempt(bp)

PUBLIC = {"api.docs.openapi_document", "api.docs.page"}


def rate_limit_key() -> str:
    """One count per API key (by its digest; the key itself never reaches the storage)."""
    secret = request.headers.get("X-API-Key", "")
    if not secret:
        return "addr:" + (request.remote_addr or "")
    return "key:" + hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:32]


# Shared: one count per key across both contracts and the native API.
limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_API"],
    scope="api",
    key_func=rate_limit_key,
    exempt_when=lambda: request.endpoint in PUBLIC,
)(bp)


@bp.before_request
def guard():
    """Refuse over-size bodies before reading them, then require a live API key."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if request.content_length is not None and limit and request.content_length > limit:
        too_large(limit, request.content_length)
    if request.endpoint in PUBLIC:
        return None
    authenticate_request(request.headers.get("X-API-Key"))
    return None


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    if error.status == 403:
        logs.security_event(
            "api-forbidden", logging.WARNING, code=error.code, org=g.get("org_id"), key=g.get("key_name")
        )
    return error.response()


@bp.errorhandler(CustomerNotFound)
def customer_not_found(error: CustomerNotFound):
    return ApiError(404, "CUSTOMER_NOT_FOUND", "No customer matches that reference").response()


@bp.errorhandler(QuotaReached)
def quota_reached(error: QuotaReached):
    return ApiError(403, "PLAN_LIMIT_REACHED", str(error)).response()


@bp.errorhandler(InvalidValue)
def invalid_value(error: InvalidValue):
    return ApiError.invalid([{"field": error.field, "message": error.message}]).response()


@bp.errorhandler(NameTaken)
def name_taken(error: NameTaken):
    return ApiError(
        409, "CONFLICT", error.message, [{"field": error.field, "message": error.message}]
    ).response()


@bp.errorhandler(KeyConflict)
def key_conflict(error: KeyConflict):
    return ApiError(
        409,
        "IDEMPOTENCY_CONFLICT",
        "This Idempotency-Key was used with a different request body",
        [{"field": "Idempotency-Key", "message": "already used with a different body"}],
    ).response()
