"""Categories and tags as an admin manages them: create, rename, archive or delete, merge.

Names are unique per organization ignoring case (`models.name_key`). Every function runs in
the caller's write transaction and writes its admin log row there; a merge moves the
tickets and records it on each ticket's timeline too. Routing rules that name a category or
tag follow it when it is renamed, merged or deleted.
"""

from sqlalchemy import case, delete, func, insert, select, update

from . import admin_log, rules
from .db import add_rows
from .extensions import db
from .models import (
    TICKET_IS_OPEN,
    Category,
    CategorySource,
    Tag,
    Ticket,
    TicketEvent,
    name_key,
    ticket_tags,
    utcnow,
)
from .validation import InvalidValue


class NameTaken(InvalidValue):
    """The name is another category's or tag's already (the API answers 409)."""


def _clean(field: str, name: object, longest: int) -> str:
    name = str(name or "").strip()
    if not name or len(name) > longest:
        raise InvalidValue(field, f"Name must be 1-{longest} characters")
    return name


def _free(model, org_id: int, name: str, keep_id: int | None = None) -> None:
    query = select(model.id).where(model.org_id == org_id, model.name_key == name_key(name))
    if keep_id is not None:
        query = query.where(model.id != keep_id)
    if db.session.scalar(query) is not None:
        raise NameTaken("name", f"{name!r} exists already (names ignore case)")


# Categories


def create_category(org_id: int, name: object, changer: admin_log.Changer) -> Category:
    name = _clean("name", name, 100)
    _free(Category, org_id, name)
    category = Category(org_id=org_id, name=name)
    db.session.add(category)
    db.session.flush()
    admin_log.record(org_id, changer, "category.created", name)
    return category


def rename_category(category: Category, name: object, changer: admin_log.Changer) -> None:
    name = _clean("name", name, 100)
    if name == category.name:
        return
    _free(Category, category.org_id, name, keep_id=category.id)
    admin_log.record(category.org_id, changer, "category.renamed", category.name, category.name, name)
    rules.follow_rename(category.org_id, "set_category", category.name, name, changer)
    category.name = name
    db.session.flush()


def set_archived(category: Category, archived: bool, changer: admin_log.Changer) -> None:
    """Archive (no longer offered or matched; its tickets keep it) or bring back. Names
    stay unique across archived categories, so one comes back as it was."""
    if archived == (category.archived_at is not None):
        return
    category.archived_at = utcnow() if archived else None
    admin_log.record(
        category.org_id, changer, "category.archived" if archived else "category.restored", category.name
    )
    db.session.flush()


def merge_categories(source: Category, target: Category, changer: admin_log.Changer) -> int:
    """Move every ticket of `source` to `target` and delete `source`; returns the count."""
    if source.id == target.id:
        raise InvalidValue("into", "Choose another category to merge into")
    if source.org_id != target.org_id:
        raise InvalidValue("into", "Unknown category")
    moved = db.session.scalars(select(Ticket.id).where(Ticket.category_id == source.id)).all()
    db.session.execute(
        update(Ticket)
        .where(Ticket.category_id == source.id)
        .values(category_id=target.id, updated_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    _timeline(source.org_id, moved, changer, "category", source.name, target.name)
    admin_log.record(
        source.org_id,
        changer,
        "category.merged",
        source.name,
        source.name,
        f"{target.name} ({len(moved)} tickets)",
    )
    rules.follow_rename(source.org_id, "set_category", source.name, target.name, changer)
    db.session.delete(source)
    db.session.flush()
    return len(moved)


def category_rows(org_id: int) -> list[dict]:
    """Each category with its open and total tickets and how tickets got it."""
    counts = {
        row.category_id: row
        for row in db.session.execute(
            select(
                Ticket.category_id,
                func.count(Ticket.id).label("total"),
                func.sum(case((TICKET_IS_OPEN, 1), else_=0)).label("open"),
                *(
                    func.sum(case((Ticket.category_source == source, 1), else_=0)).label(source.value)
                    for source in CategorySource
                ),
            )
            .where(Ticket.org_id == org_id, Ticket.category_id.is_not(None))
            .group_by(Ticket.category_id)
        )
    }
    rows = []
    for category in db.session.scalars(
        select(Category)
        .where(Category.org_id == org_id)
        .order_by(Category.archived_at.is_not(None), Category.name)
    ):
        count = counts.get(category.id)
        rows.append(
            {
                "category": category,
                "open": int(count.open or 0) if count else 0,
                "total": count.total if count else 0,
                "sources": {
                    s.value: int(getattr(count, s.value) or 0) if count else 0 for s in CategorySource
                },
            }
        )
    return rows


# Tags


def create_tag(org_id: int, name: object, changer: admin_log.Changer) -> Tag:
    name = _clean("name", name, 60)
    _free(Tag, org_id, name)
    tag = Tag(org_id=org_id, name=name)
    db.session.add(tag)
    db.session.flush()
    admin_log.record(org_id, changer, "tag.created", name)
    return tag


def rename_tag(tag: Tag, name: object, changer: admin_log.Changer) -> None:
    name = _clean("name", name, 60)
    if name == tag.name:
        return
    _free(Tag, tag.org_id, name, keep_id=tag.id)
    admin_log.record(tag.org_id, changer, "tag.renamed", tag.name, tag.name, name)
    rules.follow_rename(tag.org_id, "add_tags", tag.name, name, changer)
    tag.name = name
    db.session.flush()


def delete_tag(tag: Tag, changer: admin_log.Changer) -> int:
    """Delete a tag; it leaves every ticket that had it. Returns how many."""
    tickets = _tagged(tag.id)
    _timeline(tag.org_id, tickets, changer, "tags", tag.name, None)
    admin_log.record(tag.org_id, changer, "tag.deleted", tag.name, f"{len(tickets)} tickets")
    db.session.execute(delete(ticket_tags).where(ticket_tags.c.tag_id == tag.id))
    rules.follow_rename(tag.org_id, "add_tags", tag.name, None, changer)
    db.session.delete(tag)
    db.session.flush()
    return len(tickets)


def merge_tags(source: Tag, target: Tag, changer: admin_log.Changer) -> int:
    """Give `source`'s tickets `target` instead, then delete `source`; returns the count."""
    if source.id == target.id:
        raise InvalidValue("into", "Choose another tag to merge into")
    if source.org_id != target.org_id:
        raise InvalidValue("into", "Unknown tag")
    tickets = _tagged(source.id)
    already = set(_tagged(target.id))
    links = [{"ticket_id": t, "tag_id": target.id} for t in tickets if t not in already]
    if links:
        db.session.execute(insert(ticket_tags), links)
    db.session.execute(delete(ticket_tags).where(ticket_tags.c.tag_id == source.id))
    _timeline(source.org_id, tickets, changer, "tags", source.name, target.name)
    admin_log.record(
        source.org_id,
        changer,
        "tag.merged",
        source.name,
        source.name,
        f"{target.name} ({len(tickets)} tickets)",
    )
    rules.follow_rename(source.org_id, "add_tags", source.name, target.name, changer)
    db.session.delete(source)
    db.session.flush()
    return len(tickets)


def tag_rows(org_id: int) -> list[tuple[Tag, int, int]]:
    """Each tag with its open and total tickets."""
    return list(
        db.session.execute(
            select(Tag, func.count(Ticket.id), func.coalesce(func.sum(case((TICKET_IS_OPEN, 1), else_=0)), 0))
            .outerjoin(ticket_tags, ticket_tags.c.tag_id == Tag.id)
            .outerjoin(Ticket, Ticket.id == ticket_tags.c.ticket_id)
            .where(Tag.org_id == org_id)
            .group_by(Tag.id)
            .order_by(Tag.name)
        ).all()
    )


def _tagged(tag_id: int) -> list[int]:
    return list(db.session.scalars(select(ticket_tags.c.ticket_id).where(ticket_tags.c.tag_id == tag_id)))


def _timeline(org_id: int, ticket_ids: list[int], changer: admin_log.Changer, field: str, old, new) -> None:
    """The change on each moved ticket's timeline, as the desk shows other edits."""
    if ticket_ids:
        add_rows(
            TicketEvent,
            *(
                dict(
                    org_id=org_id,
                    ticket_id=ticket_id,
                    actor_id=changer.agent_id,
                    actor_label=changer.label[:120],
                    action="changed",
                    field=field,
                    old_value=old,
                    new_value=new,
                )
                for ticket_id in ticket_ids
            ),
        )
