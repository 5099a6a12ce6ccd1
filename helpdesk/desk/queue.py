"""The queues: Mine, Unassigned, All open, with filters, search and pages."""

import enum
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, replace

from flask import abort, request
from flask_login import current_user
from sqlalchemy import Row, bindparam, func, or_, select

from .. import htmx
from ..extensions import db
from ..htmx import render
from ..models import (
    TICKET_IS_OPEN,
    Agent,
    Category,
    Customer,
    Priority,
    Status,
    Tag,
    Ticket,
    ticket_tags,
)
from . import bulk

QUEUES = {"mine": "Mine", "unassigned": "Unassigned", "open": "All open"}
# How a queue is ordered: the empty default is the most urgent, then the oldest.
SORTS = {"": "Most urgent first", "updated": "Last updated first"}
PAGE_SIZE = 25
MAX_PAGE = 10_000
# Counts stop here (shown as "1,000+"): a page view never reads more index entries than this
# to count a queue, however many tickets it holds.
COUNT_CAP = 1000


@dataclass(frozen=True)
class QueueFilters:
    """What the agent asked to see; every field is a plain GET parameter."""

    queue: str = "mine"
    status: str = ""
    priority: str = ""
    category: str = ""
    tag: str = ""
    q: str = ""
    sort: str = ""
    page: int = 1

    def args(self, **changes) -> dict:
        """Non-empty parameters for url_for, with `changes` applied."""
        values = asdict(self) | changes
        return {key: value for key, value in values.items() if value and value != 1 or key == "queue"}


def choice_arg(args, name: str, choices: type[enum.StrEnum]) -> str:
    """The query string's `name`, upper-cased, if one of `choices` (or empty); else a 422."""
    value = args.get(name, "").upper()
    if value and value not in choices.__members__:
        abort(422, description=f"{name}: choose one of {', '.join(choices)}.")
    return value


def parse_filters(args) -> QueueFilters:
    """Read the filters from the query string; a bad value is a 422 naming the field."""
    queue = args.get("queue", "mine")
    if queue not in QUEUES:
        abort(422, description=f"queue: choose one of {', '.join(QUEUES)}.")
    status, priority = choice_arg(args, "status", Status), choice_arg(args, "priority", Priority)
    sort = args.get("sort", "")
    if sort not in SORTS:
        abort(422, description="sort: choose updated, or leave it out for the most urgent first.")
    page = args.get("page", "1")
    if not page.isdigit() or not 1 <= int(page) <= MAX_PAGE:
        abort(422, description="page: a page number from 1.")
    return QueueFilters(
        queue=queue,
        status=status,
        priority=priority,
        category=args.get("category", "").strip()[:100],
        tag=args.get("tag", "").strip()[:60],
        q=args.get("q", "").strip()[:200],
        sort=sort,
        page=int(page),
    )


def _search(agent: Agent, text: str):
    """Tickets whose number, subject, or customer email/externalId matches `text`."""
    prefix = re.escape(agent.org.ticket_prefix)
    number = re.fullmatch(rf"(?:{prefix}-)?#?(\d{{1,12}})", text, re.IGNORECASE)
    customers = select(Customer.id).where(
        Customer.org_id == agent.org_id,
        or_(
            Customer.email.icontains(text, autoescape=True),
            Customer.external_id.icontains(text, autoescape=True),
        ),
    )
    conditions = [
        Ticket.subject.icontains(text, autoescape=True),
        Ticket.customer_id.in_(customers),
    ]
    if number:
        conditions.append(Ticket.number == int(number.group(1)))
    return or_(*conditions)


def filtered(agent: Agent, filters: QueueFilters) -> list:
    """The WHERE conditions of the filters, leaving out which queue."""
    conditions = [Ticket.org_id == agent.org_id]
    if filters.status:
        conditions.append(Ticket.status == Status(filters.status))
    else:
        conditions.append(TICKET_IS_OPEN)
    if filters.priority:
        conditions.append(Ticket.priority == Priority(filters.priority))
    if filters.category:
        conditions.append(
            Ticket.category_id.in_(
                select(Category.id).where(
                    Category.org_id == agent.org_id,
                    func.lower(Category.name) == filters.category.lower(),
                )
            )
        )
    if filters.tag:
        conditions.append(
            Ticket.id.in_(
                select(ticket_tags.c.ticket_id)
                .join(Tag, Tag.id == ticket_tags.c.tag_id)
                .where(Tag.org_id == agent.org_id, Tag.name == filters.tag)
            )
        )
    if filters.q:
        conditions.append(_search(agent, filters.q))
    return conditions


def queue_condition(agent: Agent, queue: str):
    if queue == "mine":
        return Ticket.assignee_id == agent.id
    if queue == "unassigned":
        return Ticket.assignee_id.is_(None)
    return None


def queue_counts(agent: Agent, filters: QueueFilters) -> dict[str, int]:
    """How many tickets each queue holds under the filters, up to COUNT_CAP + 1.

    One statement of three scalar counts rather than one count with FILTER clauses: each
    count is answered from an index without touching the rows, and stops after COUNT_CAP + 1
    entries (an exact count of 80,000 open tickets read them all on every page view).
    """
    conditions = filtered(agent, filters)

    def count(queue: str):
        mine_or_unassigned = queue_condition(agent, queue)
        extra = [] if mine_or_unassigned is None else [mine_or_unassigned]
        bounded = select(Ticket.id).where(*conditions, *extra).limit(COUNT_CAP + 1).subquery()
        return select(func.count()).select_from(bounded).scalar_subquery()

    counts = db.session.execute(select(*(count(queue) for queue in QUEUES))).one()
    return dict(zip(QUEUES, counts, strict=True))


ORDERS = {
    "": (Ticket.priority.desc(), Ticket.created_at, Ticket.id),
    "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
}


def queue_page(agent: Agent, filters: QueueFilters) -> list[Row]:
    """One page of the queue, plus the first ticket of the next page if there is one.

    Most urgent first, then oldest (or the latest update first); id keeps the order
    stable. The page's ids come from an index alone, in this order (partial indexes of
    open tickets, see models.OPEN_SQL; by status for a status filter), in a subquery;
    only those tickets are read, as plain rows with just what the list shows.
    """
    conditions = filtered(agent, filters)
    mine_or_unassigned = queue_condition(agent, filters.queue)
    if mine_or_unassigned is not None:
        conditions.append(mine_or_unassigned)
    order = ORDERS[filters.sort]
    page_ids = (
        select(Ticket.id)
        .where(*conditions)
        .order_by(*order)
        .limit(PAGE_SIZE + 1)
        .offset((filters.page - 1) * PAGE_SIZE)
    )
    return db.session.execute(
        select(
            Ticket.id, Ticket.public_id, Ticket.number, Ticket.subject, Ticket.priority,
            Ticket.status, Ticket.created_at, Ticket.updated_at, Category.name.label("category"),
            Customer.email.label("customer_email"), Customer.external_id.label("customer_external_id"),
            Customer.name.label("customer_name"), Agent.name.label("assignee"),
        )
        .join(Customer, Customer.id == Ticket.customer_id)
        .outerjoin(Agent, Agent.id == Ticket.assignee_id)
        .outerjoin(Category, Category.id == Ticket.category_id)
        .where(Ticket.id.in_(page_ids.scalar_subquery()))
        .order_by(*order)
    ).all()  # fmt: skip


# Statements every queue page runs whatever the filters: built once (see db.execute).
TAGS_OF_TICKETS = (
    select(ticket_tags.c.ticket_id, Tag.name)
    .join(Tag, Tag.id == ticket_tags.c.tag_id)
    .where(ticket_tags.c.ticket_id.in_(bindparam("ticket_ids", expanding=True)))
    .order_by(Tag.name)
)
CATEGORY_NAMES = (
    select(Category.name).where(Category.org_id == bindparam("org_id")).order_by(Category.name)
)
TAG_NAMES = select(Tag.name).where(Tag.org_id == bindparam("org_id")).order_by(Tag.name)


def tag_names(ticket_ids: list[int]) -> defaultdict[int, list[str]]:
    """The tags of each ticket, by name."""
    names = defaultdict(list)
    if ticket_ids:
        for ticket_id, name in db.session.execute(TAGS_OF_TICKETS, {"ticket_ids": ticket_ids}):
            names[ticket_id].append(name)
    return names


def filter_choices(agent: Agent) -> dict:
    """Category and tag names of the organization, for the filter selects."""
    org = {"org_id": agent.org_id}
    return {
        "categories": db.session.scalars(CATEGORY_NAMES, org).all(),
        "tags": db.session.scalars(TAG_NAMES, org).all(),
    }


def queue(status: int = 200, notice: str | None = None, keep=None, args=None):
    """The agent's queues; htmx swaps only the list when filters change. A bulk action
    answers with it too (for the filters of the page it was sent from, `args`), with its
    `notice`, keeping the selection it was refused for."""
    args = request.args if args is None else args
    filters = parse_filters(args)
    counts = queue_counts(current_user, filters)
    if "queue" not in args and not counts["mine"] and counts["open"]:
        # Nothing of the agent's own (an admin, say): land where the work is instead.
        filters = replace(filters, queue="open")
    tickets = queue_page(current_user, filters)
    has_next, tickets = len(tickets) > PAGE_SIZE, tickets[:PAGE_SIZE]
    # Beyond the capped count the number of pages is unknown: the list says "Page N".
    count = counts[filters.queue]
    pages = None if count > COUNT_CAP else max(1, -(-count // PAGE_SIZE))
    context = dict(
        filters=filters, counts=counts, tickets=tickets, pages=pages, has_next=has_next,
        queues=QUEUES, sorts=SORTS, count_cap=COUNT_CAP,
        tags_of=tag_names([ticket.id for ticket in tickets]),
        reference_prefix=f"{current_user.org.ticket_prefix}-",
        statuses=list(Status), priorities=list(Priority),
        versions=bulk.versions_of([ticket.id for ticket in tickets]), notice=notice,
        selected=set(keep.getlist("ticket")) if keep else set(),
    )
    if not htmx.is_partial():
        context |= filter_choices(current_user) | bulk.choices(current_user)
    return render("desk/queue.html", "desk/_queue.html", status, **context)
