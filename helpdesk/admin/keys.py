"""`/admin/api-keys`: list, create (the secret shown once), revoke."""

from flask import abort, request
from flask_login import current_user
from sqlalchemy import select

from .. import accounts, admin_log
from ..db import write_transaction
from ..extensions import db
from ..models import ApiKey, KeyScope
from ..validation import InvalidValue
from . import bp, page


def _keys_page(status: int = 200, **context):
    keys = db.session.scalars(
        select(ApiKey)
        .where(ApiKey.org_id == current_user.org_id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
    ).all()
    context.setdefault("form", {"scope": "tickets"})
    return page("admin/_keys.html", "API keys", status, keys=keys, scopes=list(KeyScope), **context)


@bp.get("/api-keys")
def key_list():
    """The organization's API keys, and a form to create one."""
    return _keys_page()


@bp.post("/api-keys")
def create_key():
    """Create a key; its secret is in this one response and nowhere else."""
    form = {"name": request.form.get("name", ""), "scope": request.form.get("scope", "tickets")}
    try:
        with write_transaction():
            key, secret = accounts.issue_api_key(
                current_user.org, form["name"], form["scope"]
            )
            admin_log.record(
                key.org_id, admin_log.web(), "api_key.created", f"{key.name} ({key.prefix}…)", None, key.scope
            )
            created = {"name": key.name, "scope": key.scope, "secret": secret}
    except InvalidValue as error:
        return _keys_page(422, form=form, error=error)
    return _keys_page(201, created=created)


@bp.post("/api-keys/<public_id>/revoke")
def revoke_key(public_id: str):
    """Revoke a key: refused by every worker from the next request."""
    with write_transaction():
        key = db.session.scalar(
            select(ApiKey).where(ApiKey.org_id == current_user.org_id, ApiKey.public_id == public_id)
        )
        if key is None:
            abort(404)
        accounts.revoke_api_key(key, admin_log.web())
        name = key.name
    return _keys_page(saved=f"Revoked {name}.")
