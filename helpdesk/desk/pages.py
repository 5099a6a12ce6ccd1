"""What every desk page shows: the header's bell and live cursor, and times in words."""

from dataclasses import dataclass
from datetime import datetime

from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import Row, bindparam, func, select

from ..extensions import db
from ..models import Agent, LiveEvent, Notification, utcnow

BELL_SIZE = 8


@dataclass
class Bell:
    unread: int
    latest: list[Row]  # id, text, read_at, created_at


# The header of every desk page reads these; each is built once, with bound parameters.
_UNREAD = (
    select(func.count(Notification.id))
    .where(Notification.agent_id == bindparam("agent_id"), Notification.read_at.is_(None))
    .scalar_subquery()
)
_NEWEST_SIGNAL = (
    select(func.max(LiveEvent.id)).where(LiveEvent.org_id == bindparam("org_id")).scalar_subquery()
)
UNREAD = select(_UNREAD)
UNREAD_AND_NEWEST_SIGNAL = select(_UNREAD, _NEWEST_SIGNAL)
LATEST_NOTIFICATIONS = (
    select(Notification.id, Notification.text, Notification.read_at, Notification.created_at)
    .where(Notification.agent_id == bindparam("agent_id"))
    .order_by(Notification.created_at.desc(), Notification.id.desc())
    .limit(BELL_SIZE)
)


NOTIFICATIONS_PER_PAGE = 25


@dataclass
class NotificationPage:
    number: int
    items: list[Row]  # id, text, read_at, created_at
    has_next: bool
    unread: int


def notification_page(agent: Agent, number: int) -> NotificationPage:
    """One page of the agent's notifications, newest first; one row past the page tells
    whether another follows, so no count of them all is read."""
    rows = db.session.execute(
        LATEST_NOTIFICATIONS.limit(NOTIFICATIONS_PER_PAGE + 1).offset(
            (number - 1) * NOTIFICATIONS_PER_PAGE
        ),
        {"agent_id": agent.id},
    ).all()
    unread = db.session.scalar(UNREAD, {"agent_id": agent.id})
    return NotificationPage(
        number=number,
        items=rows[:NOTIFICATIONS_PER_PAGE],
        has_next=len(rows) > NOTIFICATIONS_PER_PAGE,
        unread=unread,
    )


def bell_for(agent: Agent, unread: int | None = None) -> Bell:
    """The agent's unread count (unless known) and latest notifications."""
    if unread is None:
        unread = db.session.scalar(UNREAD, {"agent_id": agent.id})
    latest = db.session.execute(LATEST_NOTIFICATIONS, {"agent_id": agent.id}).all()
    return Bell(unread=unread, latest=latest)


def header_for(agent: Agent) -> dict:
    """What a full page's header shows: the bell, and the newest live signal of the
    organization, after which the page listens for changes."""
    unread, newest = db.session.execute(
        UNREAD_AND_NEWEST_SIGNAL, {"agent_id": agent.id, "org_id": agent.org_id}
    ).one()
    return {"bell": bell_for(agent, unread), "live_cursor": newest or 0}


def desk_header() -> dict:
    """The signed-in agent's header, for base.html on every full page (htmx.render)."""
    return header_for(current_user)


def ago(moment: datetime) -> str:
    """'just now', '5 min ago', '3 h ago', '2 days ago', then the date."""
    seconds = int((utcnow() - moment).total_seconds())
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    if seconds < 7 * 86400:
        days = seconds // 86400
        return f"{days} day{'s' if days > 1 else ''} ago"
    return moment.strftime("%d %b %Y")


def when(moment: datetime | None, css_class: str = "") -> Markup:
    """A `<time>` element: the moment for machines, the exact time on hover, 'N min ago'.

    Built as a plain string, as one filter call: threads and queues show hundreds of
    timestamps, and both a call from a template and Markup's formatting cost several times
    this. Nothing here needs escaping: the text comes from the datetime, the class from
    the template.
    """
    if moment is None:
        return Markup("")
    css = f' class="{css_class}"' if css_class else ""
    iso = moment.isoformat()  # in UTC, as stored: 2026-11-24T09:30:12.345678+00:00
    return Markup(
        f'<time{css} datetime="{iso}" title="{iso[:10]} {iso[11:16]} UTC">{ago(moment)}</time>'
    )
