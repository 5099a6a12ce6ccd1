"""Organizations, agents and API keys: creating them and checking credentials."""

import hashlib
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import Row, bindparam, select, update
from werkzeug.security import generate_password_hash

from .db import execute, write_transaction
from .extensions import db
from .models import Agent, ApiKey, Availability, Level, Organization, Role, utcnow
from .validation import InvalidValue

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")
PREFIX = re.compile(r"^[A-Z][A-Z0-9]{0,9}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
KEY_PREFIX = "hd_"
# last_used_at is written at most this often per key, so reads stay reads.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def org_by_slug(slug: str) -> Organization | None:
    return db.session.scalar(select(Organization).where(Organization.slug == slug))


def create_org(
    name: str,
    slug: str,
    prefix: str,
    monthly_quota: int | None = None,
    slack_webhook_url: str | None = None,
) -> Organization:
    """A new organization with its own ticket numbering."""
    if not name.strip():
        raise InvalidValue("name", "Name must not be empty")
    if not SLUG.match(slug):
        raise InvalidValue("slug", "Slug must be lower-case letters, digits and dashes")
    if not PREFIX.match(prefix):
        raise InvalidValue("prefix", "Prefix must be 1-10 upper-case letters or digits")
    if monthly_quota is not None and monthly_quota < 0:
        raise InvalidValue("monthly_quota", "Quota must not be negative")
    if slack_webhook_url and not slack_webhook_url.startswith("https://"):
        raise InvalidValue("slack_webhook_url", "Slack webhook URL must start with https://")
    if org_by_slug(slug):
        raise InvalidValue("slug", f"An organization with slug {slug!r} exists already")
    org = Organization(
        name=name.strip(),
        slug=slug,
        ticket_prefix=prefix,
        monthly_quota=monthly_quota,
        slack_webhook_url=slack_webhook_url or None,
    )
    db.session.add(org)
    db.session.flush()
    return org


def create_agent(
    org: Organization,
    *,
    email: str,
    name: str,
    password: str,
    role: Role = Role.AGENT,
    level: Level = Level.N1,
    availability: Availability = Availability.OFFLINE,
    capacity: int = 20,
) -> Agent:
    """A new agent who can sign in with email and password."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise InvalidValue("email", "Email is not a valid address")
    if not name.strip():
        raise InvalidValue("name", "Name must not be empty")
    if len(password) < 8:
        raise InvalidValue("password", "Password must have at least 8 characters")
    if capacity < 0:
        raise InvalidValue("capacity", "Capacity must not be negative")
    if db.session.scalar(select(Agent.id).where(Agent.email == email)):
        raise InvalidValue("email", f"An agent with email {email} exists already")
    agent = Agent(
        org=org,
        email=email,
        name=name.strip(),
        password_hash=generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"]
        ),
        role=Role(role),
        level=Level(level),
        availability=Availability(availability),
        capacity=capacity,
    )
    db.session.add(agent)
    db.session.flush()
    return agent


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key(org: Organization, name: str) -> tuple[ApiKey, str]:
    """A new API key and its secret; only the hash and a short prefix are stored."""
    if not name.strip():
        raise InvalidValue("name", "Name must not be empty")
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(org=org, name=name.strip(), prefix=secret[:10], key_hash=hash_key(secret))
    db.session.add(key)
    db.session.flush()
    return key, secret


# Every API request runs it: the columns it needs, not the model (and its organization).
KEY_BY_HASH = select(
    ApiKey.id, ApiKey.org_id, ApiKey.name, ApiKey.revoked_at, ApiKey.last_used_at
).where(ApiKey.key_hash == bindparam("key_hash"))


def authenticate_key(secret: str | None) -> Row | None:
    """The live key with this secret as a row (id, org_id, name, revoked_at, last_used_at),
    noting its use at most once a minute."""
    if not secret or len(secret) > 200:
        return None
    key = execute(KEY_BY_HASH, {"key_hash": hash_key(secret)}).first()
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        # Its own short write; with the condition, concurrent requests write it once.
        with write_transaction():
            db.session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key.id,
                    (ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_RESOLUTION),
                )
                .values(last_used_at=now),
                execution_options={"synchronize_session": False},
            )
    return key


def revoke_api_key(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
