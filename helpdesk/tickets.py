"""The ticket workflow: one creation service for every entry point, and lookups.

Services take model objects and plain values, never the request, and do not commit:
the caller wraps them in `db.write_transaction()`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from flask import abort
from sqlalchemy import Row, Select, bindparam, func, select, update

from . import assignment, audit, classify, idempotency, notify, routing
from .customers import CustomerRef, find_customer_row, normalize_email, resolve_customer
from .db import add_row, add_rows, execute, lock_organization, write_transaction
from .extensions import db
from .markdown import Rendered, render_markdown
from .models import (
    Agent,
    AgentLike,
    Category,
    CategorySource,
    Channel,
    CustomerLike,
    Level,
    Message,
    MessageRole,
    Organization,
    Priority,
    Status,
    Tag,
    Ticket,
    name_key,
    new_uuid,
    ticket_tags,
    utcnow,
)
from .validation import InvalidValue


class QuotaReached(Exception):
    """The organization created as many tickets this month as its plan allows."""


@dataclass
class NewMessage:
    role: MessageRole
    content: str


@dataclass
class NewTicket:
    """A validated request to open a ticket, from whichever entry point."""

    subject: str
    customer: CustomerRef
    description: str | None = None
    priority: Priority = Priority.MEDIUM
    category: str | None = None
    # Telemetron names only existing categories; Supportdesk creates unknown ones.
    create_category: bool = True
    metadata: dict = field(default_factory=dict)
    tag_ids: list[str] = field(default_factory=list)
    channel: Channel = Channel.API
    messages: list[NewMessage] = field(default_factory=list)
    # The Message-ID of the email it comes from (tickets opened by email, helpdesk/ingest.py).
    email_message_id: str | None = None


def month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def check_quota(org_id: int, quota: int | None) -> None:
    """Raise QuotaReached when this month's tickets fill the plan; caller holds the lock."""
    if quota is None:
        return
    used = db.session.scalar(
        select(func.count(Ticket.id)).where(
            Ticket.org_id == org_id, Ticket.created_at >= month_start(datetime.now(UTC))
        )
    )
    if used >= quota:
        raise QuotaReached(f"Monthly ticket quota of {quota} reached")


def find_category(org_id: int, name: str) -> Category | None:
    """The organization's live (not archived) category of that name, ignoring case."""
    return db.session.scalar(
        select(Category).where(
            Category.org_id == org_id,
            Category.name_key == name_key(name),
            Category.archived_at.is_(None),
        )
    )


def new_category_name(name: str) -> str:
    """The name a category is created with, from the one a caller gave."""
    return name.strip()[:100]


# How many categories an organization may have for an API client to add one by naming it.
MAX_API_CATEGORIES = 500


def category_named(org_id: int, name: str, *, client_field: str | None = None) -> Category | None:
    """The category of that name, created when the organization has none; None when the
    name is an archived category's (archived categories are no longer matched).

    With `client_field` (a client's free-form name, not an admin's rule), creating one is
    an InvalidValue of that field once the organization has MAX_API_CATEGORIES.
    """
    category = find_category(org_id, name)
    if category is None:
        if db.session.scalar(
            select(Category.id).where(Category.org_id == org_id, Category.name_key == name_key(name))
        ):
            return None
        if client_field is not None:
            count = db.session.scalar(
                select(func.count(Category.id)).where(Category.org_id == org_id)
            )
            if count >= MAX_API_CATEGORIES:
                raise InvalidValue(
                    client_field,
                    f"the organization has {MAX_API_CATEGORIES} categories, the most a client "
                    "can add: use one of them",
                )
        category = Category(org_id=org_id, name=new_category_name(name))
        db.session.add(category)
        db.session.flush()
    return category


def tags_by_id(org_id: int, public_ids: list[str]) -> list[Tag]:
    """The organization's tags with these ids; any unknown id is an InvalidValue."""
    wanted = list(dict.fromkeys(public_ids))
    if not wanted:
        return []
    tags = db.session.scalars(
        select(Tag).where(Tag.org_id == org_id, Tag.public_id.in_(wanted))
    ).all()
    known = {tag.public_id for tag in tags}
    missing = [tag_id for tag_id in wanted if tag_id not in known]
    if missing:
        raise InvalidValue("tagIds", f"Unknown tag id: {missing[0]}")
    return sorted(tags, key=lambda tag: wanted.index(tag.public_id))


def tags_named(org_id: int, names: list[str]) -> list[Tag]:
    """The organization's tags with these names (ignoring case), created when missing."""
    tags = []
    wanted: dict[str, str] = {}
    for given in names:
        if given and given.strip():
            wanted.setdefault(name_key(given.strip()[:60]), given.strip()[:60])
    for key, name in wanted.items():
        tag = db.session.scalar(select(Tag).where(Tag.org_id == org_id, Tag.name_key == key))
        if tag is None:
            tag = Tag(org_id=org_id, name=name)
            db.session.add(tag)
            db.session.flush()
        tags.append(tag)
    return tags


# The longest description a client may send (the API's MAX_TEXT, the desk's MAX_BODY): a
# description made from messages is cut to it too, so that no create renders more.
MAX_DESCRIPTION = 64 * 1024


def transcript(messages: list[NewMessage]) -> str:
    """A Markdown description made from a conversation, for tickets sent without one:
    at most MAX_DESCRIPTION characters, whole messages while they fit (the messages
    themselves are kept whole)."""
    parts, length = [], 0
    for message in messages:
        part = f"**{message.role.value.capitalize()}:** {message.content}"
        added = len(part) + (2 if parts else 0)  # and the blank line before it
        if length + added > MAX_DESCRIPTION:
            if not parts:
                parts.append(part[: MAX_DESCRIPTION - 1] + "…")
            break
        parts.append(part)
        length += added
    return "\n\n".join(parts)


@dataclass(frozen=True)
class Prepared:
    """What opening a ticket works out before the write lock (see `prepare`)."""

    description: str
    description_html: str
    messages_html: list[str]
    customer: Row | None  # see customers.find_customer_row; None: created under the lock
    category_id: int | None  # the category the caller named, when it exists
    tag_ids: list[int]
    routing: routing.Routing
    guess: tuple[int, float] | None  # the classifier's category id and confidence
    threshold: float  # the confidence a guess needs to be applied
    quota: int | None  # the organization's monthly quota
    slack_url: str | None
    webhooks: list[Row]  # the organization's active webhooks (notify.webhooks_of)


ORG_SETTINGS = select(
    Organization.monthly_quota, Organization.slack_webhook_url, Organization.classifier_threshold
).where(Organization.id == bindparam("org_id"))


def prepare(org_id: int, new: NewTicket) -> Prepared:
    """What opening a ticket can do before the write lock, where nobody waits on it.

    Renders the Markdown once (SPEC §7): the description, or a transcript of the messages
    when there is none, and the messages. Reads what the ticket will refer to: its
    customer, named category and tags (none of which is ever deleted), the routing rules'
    decision, the organization's settings and the webhooks to tell. For a ticket left
    without a category, asks the classifier (which trains the organization's first model
    here, if need be). An unknown tag id is an InvalidValue here, before any write.

    What it keeps are plain values and rows, not models: the commit that ends this read
    transaction before the lock is taken expires models, and reading them again under the
    lock would cost what this saves.
    """
    description = new.description or transcript(new.messages)
    customer = find_customer_row(org_id, new.customer)
    category = find_category(org_id, new.category) if new.category else None
    tag_ids = [tag.id for tag in tags_by_id(org_id, new.tag_ids)]
    settings = execute(ORG_SETTINGS, {"org_id": org_id}).one()

    if category is not None:
        category_name = category.name
    elif new.category and new.create_category:
        category_name = new_category_name(new.category)  # created under the lock
    else:
        category_name = None
    decided = routing.route(
        org_id,
        routing.TicketFacts(
            subject=new.subject,
            description=description,
            priority=str(new.priority),
            category=category_name,
            customer_email=customer.email if customer else normalize_email(new.customer.email),
            metadata=new.metadata,
        ),
    )
    guess = None
    if category_name is None and decided.category is None:
        guess = classify.suggest(org_id, f"{new.subject} {description}")
    return Prepared(
        description=description,
        description_html=render_markdown(description),
        messages_html=[render_markdown(message.content) for message in new.messages],
        customer=customer,
        category_id=category.id if category else None,
        tag_ids=tag_ids,
        routing=decided,
        guess=guess,
        threshold=classify.threshold(settings.classifier_threshold),
        quota=settings.monthly_quota,
        slack_url=settings.slack_webhook_url,
        webhooks=notify.webhooks_of(org_id),
    )


# Numbering


NEXT_NUMBER = (
    update(Organization.__table__)
    .where(Organization.id == bindparam("org_id"))
    .values(ticket_seq=Organization.ticket_seq + 1)
    .returning(Organization.ticket_seq, Organization.ticket_prefix)
)


def allocate_number(org_id: int) -> tuple[int, str]:
    """The organization's next ticket number and its prefix. Numbers are never reused; on
    PostgreSQL the UPDATE also takes the organization's lock."""
    number, prefix = execute(NEXT_NUMBER, {"org_id": org_id}).one()
    return number, prefix


# Opening a ticket


@dataclass(frozen=True)
class Opened:
    """A ticket as `open_ticket` inserted it: what the audit trail, notifications and the
    API's answer read (`models.TicketLike`), without reading the ticket back."""

    id: int
    reference: str
    customer: CustomerLike
    assignee: AgentLike | None
    # The columns it was inserted with, by the same names.
    public_id: str
    org_id: int
    number: int
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    created_at: datetime


@dataclass(frozen=True)
class Categorised:
    """The category a new ticket gets, and who chose it."""

    id: int | None = None
    source: CategorySource | None = None
    confidence: float | None = None


def create_ticket(org: Organization, new: NewTicket, actor: audit.Actor) -> Ticket:
    """Open a ticket (see `open_ticket`) and return it as a model, for callers that go on
    to use it (the demo seed, tests); the API answers from `open_ticket` directly."""
    return db.session.get(Ticket, open_ticket(org.id, new, actor).id)


def open_ticket(
    org_id: int, new: NewTicket, actor: audit.Actor, prepared: Prepared | None = None
) -> Opened:
    """Open a ticket: number, quota, customer, category, tags, assignee, audit, outbox.

    The caller holds the write lock throughout, so the work here is kept small. What can
    be read or computed beforehand is `prepare`d, before the lock when the caller passes
    `prepared` (`open_once` does); what remains is what must be decided under the lock
    (the number, the quota, the agent, a customer, category or tag to create), and writes
    that are plain INSERTs (`db.add_rows`), not the ORM's unit of work.
    """
    prepared = prepared or prepare(org_id, new)
    with db.session.no_autoflush:
        number, prefix = allocate_number(org_id)
        check_quota(org_id, prepared.quota)
        customer = prepared.customer or resolve_customer(org_id, new.customer)
        category = _categorise(org_id, new, prepared)
        agent, assigned_by = _assignee(org_id, prepared.routing)
        ticket = _insert(org_id, f"{prefix}-{number}", number, new, prepared, customer, category, agent)
        tags = [*prepared.tag_ids, *(tag.id for tag in tags_named(org_id, prepared.routing.tags))]
        _add_tags_and_messages(ticket, tags, new, prepared)
        _announce(ticket, new, actor, prepared, assigned_by)
    return ticket


def _categorise(org_id: int, new: NewTicket, prepared: Prepared) -> Categorised:
    """The client's category (created when a Supportdesk client names a new one), unless a
    rule sets one; without either, the classifier's guess when it is sure enough."""
    category_id = prepared.category_id
    if category_id is None and new.category and new.create_category:
        category = category_named(org_id, new.category, client_field="category")
        category_id = category.id if category else None
    ruled = prepared.routing.category
    if ruled and (category := category_named(org_id, ruled)) is not None:
        return Categorised(category.id, CategorySource.RULE)
    if category_id is not None:
        return Categorised(category_id, CategorySource.API)
    guess = prepared.guess
    if guess and guess[1] >= prepared.threshold:
        return Categorised(guess[0], CategorySource.AUTO, round(guess[1], 3))
    return Categorised()


def _assignee(org_id: int, decided: routing.Routing) -> tuple[AgentLike | None, str]:
    """The agent a rule names, if active; else the least-loaded available one of the level.
    The new ticket adds to nobody's load yet, so the pick can precede its insert."""
    if decided.agent_email:
        agent = db.session.scalar(
            select(Agent).where(
                Agent.org_id == org_id,
                Agent.email == decided.agent_email.lower(),
                Agent.active.is_(True),
            )
        )
        if agent is not None:
            return agent, "Routing rule"
    return assignment.pick_agent(org_id, decided.level or Level.N1), "Auto-assignment"


def _insert(
    org_id: int,
    reference: str,
    number: int,
    new: NewTicket,
    prepared: Prepared,
    customer: CustomerLike,
    category: Categorised,
    agent: AgentLike | None,
) -> Opened:
    """Insert the ticket, already assigned when there is an agent."""
    now = utcnow()
    shown = dict(
        public_id=new_uuid(),
        org_id=org_id,
        number=number,
        subject=new.subject,
        status=Status.IN_PROGRESS if agent else Status.OPEN,
        priority=prepared.routing.priority or new.priority,
        channel=new.channel,
        created_at=now,
    )
    ticket_id = add_row(
        Ticket,
        **shown,
        description=prepared.description,
        description_html=prepared.description_html,
        level=prepared.routing.level or Level.N1,
        category_id=category.id,
        category_source=category.source,
        category_confidence=category.confidence,
        metadata=new.metadata,  # the column's name; the model calls it `meta`
        customer_id=customer.id,
        assignee_id=agent.id if agent else None,
        assigned_at=now if agent else None,
        updated_at=now,
        email_message_id=new.email_message_id,
    )
    return Opened(id=ticket_id, reference=reference, customer=customer, assignee=agent, **shown)


def _add_tags_and_messages(ticket: Opened, tag_ids: list[int], new: NewTicket, prepared: Prepared) -> None:
    if tag_ids:
        links = ({"ticket_id": ticket.id, "tag_id": tag_id} for tag_id in dict.fromkeys(tag_ids))
        add_rows(ticket_tags, *links)
    if new.messages:
        add_rows(
            Message,
            *(
                dict(
                    org_id=ticket.org_id,
                    ticket_id=ticket.id,
                    role=message.role,
                    body=message.content,
                    body_html=html,
                    internal=False,
                    author_id=None,
                    created_at=ticket.created_at,
                )
                for message, html in zip(new.messages, prepared.messages_html, strict=True)
            ),
        )


def _announce(
    ticket: Opened, new: NewTicket, actor: audit.Actor, prepared: Prepared, assigned_by: str
) -> None:
    """The timeline, then Slack and webhooks, then the assignment (so that receivers hear
    ticket.created before ticket.assigned)."""
    audit.record(ticket, actor, "created", new=ticket.reference)
    for rule in prepared.routing.matched:
        audit.record(ticket, audit.Actor(label=f"Rule: {rule}"), "routed")
    first = next((m.content for m in new.messages if m.role == MessageRole.CUSTOMER), None)
    notify.ticket_created(
        ticket, first or prepared.description, slack_url=prepared.slack_url, webhooks=prepared.webhooks
    )
    if ticket.assignee is not None:
        actor = audit.Actor(label=assigned_by)
        assignment.announce(ticket, None, ticket.assignee, actor, ticket.created_at, prepared.webhooks)


# Opening a ticket once per Idempotency-Key


@dataclass(frozen=True)
class Once:
    """A request's Idempotency-Key, the endpoint it was sent to, and its decoded body."""

    endpoint: str
    key: str | None
    payload: object


@dataclass(frozen=True)
class Answer:
    """What to answer a creation with: the status and JSON body, first given or replayed."""

    status: int
    body: dict
    replayed: bool = False


def open_once(
    org_id: int,
    new: NewTicket,
    actor: audit.Actor,
    shape: Callable[[Opened], tuple[int, dict]],
    once: Once,
) -> Answer:
    """Open a ticket and answer with `shape(ticket)`, or replay the answer stored for the
    request's Idempotency-Key (another body with the key is idempotency.KeyConflict).

    A replay found at once costs one read. Otherwise the ticket is `prepare`d before the
    write lock; then the lookup again, the creation and storing its answer share one write
    transaction and the organization's lock, so concurrent retries create exactly one
    ticket and all get the same answer.
    """
    key = idempotency.checked_key(once.key)
    digest = idempotency.request_hash(once.payload) if key else ""
    if key and (replay := idempotency.lookup(org_id, once.endpoint, key, digest)):
        return Answer(replay.status_code, replay.response, replayed=True)
    prepared = prepare(org_id, new)
    with write_transaction():
        if key:
            lock_organization(org_id)
            if replay := idempotency.lookup(org_id, once.endpoint, key, digest):
                return Answer(replay.status_code, replay.response, replayed=True)
        status, body = shape(open_ticket(org_id, new, actor, prepared))
        if key:
            idempotency.remember(org_id, once.endpoint, key, digest, status, body)
    return Answer(status, body)


def add_message(
    ticket: Ticket,
    role: MessageRole,
    body: Rendered,
    actor: audit.Actor,
    *,
    internal: bool = False,
    email_message_id: str | None = None,
    original: str | None = None,
) -> Message:
    """Append a message (or an internal note), rendered before the write began, to the
    conversation; an emailed one keeps its Message-ID and the mail's `original` text."""
    public_id = new_uuid()
    if role == MessageRole.AGENT and not internal:
        # The Message-ID of the email to the customer, the same on every retry; their
        # answer names it in In-Reply-To.
        email_message_id = f"<m-{public_id}@{notify.mail_domain()}>"
    message = Message(
        public_id=public_id,
        org_id=ticket.org_id,
        ticket_id=ticket.id,
        role=role,
        body=body.text,
        body_html=body.html,
        internal=internal,
        author=actor.agent,
        email_message_id=email_message_id,
        original=original,
    )
    db.session.add(message)
    db.session.flush()
    audit.record(ticket, actor, "note" if internal else "message", new=str(role))
    if not internal:
        notify.message_created(ticket, message)
    if role == MessageRole.CUSTOMER and not internal:
        notify.customer_replied(ticket)
    else:
        notify.signal(ticket.org_id, "ticket", ticket=ticket)
    return message


@lru_cache(maxsize=16)
def _ticket_by(column: str, options: tuple) -> Select:
    """The lookup of one ticket by `number` or `public_id`, built once per set of loader
    options (module-level constants, such as the ticket page's)."""
    return (
        select(Ticket)
        .where(Ticket.org_id == bindparam("org_id"), getattr(Ticket, column) == bindparam("key"))
        .options(*options)
    )


def prefixes_of(org: Organization) -> set[str]:
    """The organization's ticket prefix and those it had: references with any of them resolve."""
    return {org.ticket_prefix.upper(), *(org.former_prefixes or "").split()}


def find_ticket(org: Organization, reference: str, *options) -> Ticket | None:
    """A ticket of this organization by UUID, `PREFIX-NUMBER` or bare number; else None.

    `options` are loader options for what the caller will read (the ticket page's).
    """
    reference = reference.strip()
    prefix, _, digits = reference.rpartition("-")
    if digits.isdigit() and (not prefix or prefix.upper() in prefixes_of(org)):
        if len(digits) > 12:
            return None
        column, key = "number", int(digits)
    elif reference.isdigit() and len(reference) <= 12:
        column, key = "number", int(reference)
    else:
        column, key = "public_id", reference
    return db.session.scalar(_ticket_by(column, options), {"org_id": org.id, "key": key})


def get_ticket_for(agent: Agent, reference: str, *options) -> Ticket:
    """The agent's organization's ticket, or a 404."""
    ticket = find_ticket(agent.org, reference, *options)
    if ticket is None:
        abort(404)
    return ticket


# Editing from the desk: each change records one audit event and signals open pages.


def _changed(ticket: Ticket, actor: audit.Actor, field: str, old: object, new: object) -> None:
    audit.record(ticket, actor, "changed", field, old, new)
    notify.ticket_updated(ticket, {field: None if new is None else str(new)})


def _set(ticket: Ticket, field: str, value: object, actor: audit.Actor) -> bool:
    """Set a plain field with its audit event; False when it had that value already."""
    old = getattr(ticket, field)
    if value == old:
        return False
    setattr(ticket, field, value)
    _changed(ticket, actor, field, old, value)
    return True


def change_priority(ticket: Ticket, priority: Priority, actor: audit.Actor) -> bool:
    """Set the ticket's priority; False when it had that priority already."""
    return _set(ticket, "priority", Priority(priority), actor)


def change_status(ticket: Ticket, status: Status, actor: audit.Actor) -> bool:
    """Set the ticket's status; False when it had that status already."""
    return _set(ticket, "status", Status(status), actor)


def change_category(ticket: Ticket, category: Category | None, actor: audit.Actor) -> bool:
    """Set the category as the agent chose it (which also confirms it for the classifier)."""
    if category is not None and category.org_id != ticket.org_id:
        raise InvalidValue("category", "Unknown category")
    old = ticket.category
    if category is old and (category is None or ticket.category_source == CategorySource.AGENT):
        return False
    ticket.category = category
    ticket.category_source = CategorySource.AGENT if category else None
    ticket.category_confidence = None
    _changed(ticket, actor, "category", old.name if old else None, category.name if category else None)
    return True


def set_tags(ticket: Ticket, tags: list[Tag], actor: audit.Actor) -> bool:
    """Replace the ticket's tags; False when they are the same."""
    if any(tag.org_id != ticket.org_id for tag in tags):
        raise InvalidValue("tags", "Unknown tag")
    old = sorted(tag.name for tag in ticket.tags)
    new = sorted(dict.fromkeys(tag.name for tag in tags))
    if old == new:
        return False
    ticket.tags = sorted(dict.fromkeys(tags), key=lambda tag: tag.name)
    _changed(ticket, actor, "tags", ", ".join(old) or None, ", ".join(new) or None)
    return True


def reassign(ticket: Ticket, agent: Agent | None, actor: audit.Actor) -> bool:
    """Give the ticket to another agent of the organization, or to nobody."""
    if agent is not None and (agent.org_id != ticket.org_id or not agent.active):
        raise InvalidValue("assignee", "Unknown agent")
    if ticket.assignee is agent:
        return False
    assignment.assign(ticket, agent, actor)  # records the event and tells the assignee
    notify.ticket_updated(ticket, {"assignee": agent.email if agent else None})
    return True
