"""Organizations, agents and API keys: creating them and checking credentials."""

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import Row, bindparam, func, select, update
from werkzeug.security import generate_password_hash

from . import admin_log, assignment, audit, auth, logs
from .db import execute, lock_organization, write_transaction
from .extensions import db
from .models import (
    TICKET_IS_OPEN,
    Agent,
    ApiKey,
    Availability,
    KeyScope,
    Level,
    Organization,
    Role,
    Ticket,
    utcnow,
)
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


def issue_api_key(org: Organization, name: str, scope: str = KeyScope.TICKETS) -> tuple[ApiKey, str]:
    """A new API key and its secret; only the hash and a short prefix are stored.

    Scope `tickets` is what the API does for Supportdesk and Telemetron; `admin` also
    opens the admin API (categories, tags, routing rules).
    """
    name = name.strip()
    if not name or len(name) > 120:
        raise InvalidValue("name", "Name must be 1-120 characters")
    scope = parse_choice("scope", scope, KeyScope)
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(org=org, name=name, prefix=secret[:10], key_hash=hash_key(secret), scope=scope)
    db.session.add(key)
    db.session.flush()
    return key, secret


def live_keys_named(org_id: int, name: str) -> list[ApiKey]:
    """The organization's unrevoked keys of that name."""
    return list(
        db.session.scalars(
            select(ApiKey).where(
                ApiKey.org_id == org_id, ApiKey.name == name.strip(), ApiKey.revoked_at.is_(None)
            )
        )
    )


# Every API request runs it: the columns it needs, not the model (and its organization).
KEY_BY_HASH = select(
    ApiKey.id, ApiKey.org_id, ApiKey.name, ApiKey.scope, ApiKey.revoked_at, ApiKey.last_used_at
).where(ApiKey.key_hash == bindparam("key_hash"))


def authenticate_key(secret: str | None) -> Row | None:
    """The live key with this secret as a row (id, org_id, name, scope, revoked_at, last_used_at),
    noting its use at most once a minute."""
    if not secret or len(secret) > 200:
        reason = "missing" if not secret else "malformed"
        logs.security_event("api-key-refused", logging.WARNING, reason=reason)
        return None
    key = execute(KEY_BY_HASH, {"key_hash": hash_key(secret)}).first()
    if key is None:
        logs.security_event("api-key-refused", logging.WARNING, reason="unknown")
        return None
    if key.revoked_at is not None:
        logs.security_event("api-key-refused", logging.WARNING, reason="revoked", org=key.org_id, key=key.id)
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


def revoke_api_key(key: ApiKey, changer: "admin_log.Changer | None" = None) -> None:
    """Revoke a key: every worker refuses it from the next request (each reads the key's
    row per request; nothing is cached)."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        if changer is not None:
            admin_log.record(key.org_id, changer, "api_key.revoked", f"{key.name} ({key.prefix}…)")


# Administration of agents: every function runs inside the caller's write transaction and
# writes its admin log row there (helpdesk/admin_log.py).


def parse_int(field: str, raw: object, *, minimum: int = 0, allow_empty: bool = False) -> int | None:
    """A whole number from a form or JSON value, or an InvalidValue naming `field`."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if allow_empty:
            return None
        raise InvalidValue(field, "Enter a whole number")
    if isinstance(raw, bool):
        raise InvalidValue(field, "Enter a whole number")
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InvalidValue(field, "Enter a whole number") from None
    if value < minimum:
        raise InvalidValue(field, f"Must be at least {minimum}")
    return value


def parse_choice(field: str, raw: object, choices: type) -> object:
    """A member of the enum `choices` from its value, or an InvalidValue naming `field`."""
    try:
        return choices(raw)
    except ValueError:
        allowed = ", ".join(member.value for member in choices)
        raise InvalidValue(field, f"Choose one of {allowed}") from None


def _active_admins(org_id: int) -> int:
    return db.session.scalar(
        select(func.count(Agent.id)).where(
            Agent.org_id == org_id, Agent.active.is_(True), Agent.role == Role.ADMIN
        )
    )


def _keeps_an_admin(agent: Agent, field: str) -> None:
    if agent.active and agent.role == Role.ADMIN and _active_admins(agent.org_id) <= 1:
        raise InvalidValue(field, "The organization's last active admin cannot be removed")


def update_agent(agent: Agent, changes: dict, changer: admin_log.Changer) -> list[str]:
    """Change an agent's name, role, level and capacity; returns the fields that changed.

    An admin cannot demote themselves, nor anyone demote the last active admin.
    """
    wanted = {}
    if "name" in changes:
        name = str(changes["name"] or "").strip()
        if not name or len(name) > 120:
            raise InvalidValue("name", "Name must be 1-120 characters")
        wanted["name"] = name
    if "role" in changes:
        wanted["role"] = parse_choice("role", changes["role"], Role)
    if "level" in changes:
        wanted["level"] = parse_choice("level", changes["level"], Level)
    if "capacity" in changes:
        wanted["capacity"] = parse_int("capacity", changes["capacity"])
    if wanted.get("role", agent.role) != agent.role and agent.role == Role.ADMIN:
        if changer.agent_id == agent.id:
            raise InvalidValue("role", "You cannot demote yourself")
        _keeps_an_admin(agent, "role")
    changed = []
    for field, value in wanted.items():
        old = getattr(agent, field)
        if old != value:
            setattr(agent, field, value)
            admin_log.record(agent.org_id, changer, f"agent.{field}", agent.email, old, value)
            changed.append(field)
    db.session.flush()
    if changed and agent.active and agent.availability == Availability.AVAILABLE:
        assignment.pull_unassigned(agent)  # a new level or more room can take waiting tickets
    return changed


def deactivate_agent(agent: Agent, changer: admin_log.Changer) -> list[Ticket]:
    """Stop an agent: no sign-in (their sessions stop at their next request, the user
    loader reads `active`), no new tickets; their open tickets return to Unassigned and
    are auto-assigned again. Returns those tickets."""
    if changer.agent_id == agent.id:
        raise InvalidValue("active", "You cannot deactivate yourself")
    if not agent.active:
        return []
    _keeps_an_admin(agent, "active")
    lock_organization(agent.org_id)
    agent.active = False
    agent.availability = Availability.OFFLINE
    admin_log.record(agent.org_id, changer, "agent.active", agent.email, True, False)
    auth.end_sessions(agent)  # the user loader refuses them anyway; this also drops remember tokens
    tickets = db.session.scalars(
        select(Ticket)
        .where(Ticket.org_id == agent.org_id, Ticket.assignee_id == agent.id, TICKET_IS_OPEN)
        .order_by(Ticket.priority.desc(), Ticket.created_at, Ticket.id)
    ).all()
    released = audit.Actor(label=f"Deactivation of {agent.name}"[:120])
    for ticket in tickets:
        assignment.assign(ticket, None, released)
    db.session.flush()
    auto = audit.Actor(label="Auto-assignment")
    for ticket in tickets:
        picked = assignment.pick_agent(agent.org_id, ticket.level)
        if picked is not None:
            assignment.assign(ticket, db.session.get(Agent, picked.id), auto)
            db.session.flush()
    return list(tickets)


def reactivate_agent(agent: Agent, changer: admin_log.Changer) -> None:
    """Let a deactivated agent sign in again (offline until they say otherwise)."""
    if agent.active:
        return
    agent.active = True
    admin_log.record(agent.org_id, changer, "agent.active", agent.email, False, True)
    db.session.flush()


def set_password(
    agent: Agent, password: str, changer: admin_log.Changer, *, keep_session: int | None = None
) -> None:
    """A new password for the agent (the log says it changed, never what to); every sign-in
    of theirs ends, except `keep_session` (the agent's own, when they change it themselves)."""
    if len(password) < 8:
        raise InvalidValue("password", "Password must have at least 8 characters")
    if len(password) > 1024:
        raise InvalidValue("password", "Password must have at most 1024 characters")
    agent.password_hash = generate_password_hash(
        password, method=current_app.config["PASSWORD_HASH_METHOD"]
    )
    admin_log.record(agent.org_id, changer, "agent.password", agent.email, None, "changed")
    auth.end_sessions(agent, keep=keep_session)
    db.session.flush()
