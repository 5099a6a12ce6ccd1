"""`/admin/categories` and `/admin/tags`: counts, create, rename, archive or delete, merge."""

from flask import abort, request
from flask_login import current_user
from sqlalchemy import select

from .. import admin_log, catalog
from ..db import write_transaction
from ..extensions import db
from ..models import Category, Tag
from ..validation import InvalidValue
from . import bp, page


def _one(model, public_id: str):
    """The organization's category or tag with this id; another organization's is a 404."""
    row = db.session.scalar(
        select(model).where(model.org_id == current_user.org_id, model.public_id == public_id)
    )
    if row is None:
        abort(404)
    return row


def _into(model):
    """The merge target named by the form's `into` (a public id)."""
    row = db.session.scalar(
        select(model).where(
            model.org_id == current_user.org_id, model.public_id == request.form.get("into", "")
        )
    )
    if row is None:
        raise InvalidValue("into", "Choose where to merge")
    return row


def _categories_page(status: int = 200, **context):
    return page(
        "admin/_categories.html",
        "Categories",
        status,
        rows=catalog.category_rows(current_user.org_id),
        **context,
    )


def _tags_page(status: int = 200, **context):
    return page("admin/_tags.html", "Tags", status, rows=catalog.tag_rows(current_user.org_id), **context)


def _change(page_function, action, success: str, status: int = 200):
    """Run `action` in one write transaction; the page again, with the error or the news."""
    try:
        with write_transaction():
            result = action()
    except InvalidValue as error:
        db.session.rollback()
        return page_function(422, error=error, form=dict(request.form))
    return page_function(status, saved=success.format(result=result))


@bp.get("/categories")
def category_list():
    return _categories_page()


@bp.post("/categories")
def create_category():
    name = request.form.get("name", "")
    return _change(
        _categories_page,
        lambda: catalog.create_category(current_user.org_id, name, admin_log.web()).name,
        "Created {result}.",
        201,
    )


@bp.post("/categories/<public_id>")
def rename_category(public_id: str):
    name = request.form.get("name", "")
    return _change(
        _categories_page,
        lambda: catalog.rename_category(_one(Category, public_id), name, admin_log.web()),
        "Renamed.",
    )


@bp.post("/categories/<public_id>/archive")
def archive_category(public_id: str):
    archived = request.form.get("archived", "1") != "0"
    return _change(
        _categories_page,
        lambda: catalog.set_archived(_one(Category, public_id), archived, admin_log.web()),
        "Archived." if archived else "Restored.",
    )


@bp.post("/categories/<public_id>/merge")
def merge_category(public_id: str):
    return _change(
        _categories_page,
        lambda: catalog.merge_categories(_one(Category, public_id), _into(Category), admin_log.web()),
        "Merged; {result} ticket(s) moved.",
    )


@bp.get("/tags")
def tag_list():
    return _tags_page()


@bp.post("/tags")
def create_tag():
    name = request.form.get("name", "")
    return _change(
        _tags_page,
        lambda: catalog.create_tag(current_user.org_id, name, admin_log.web()).name,
        "Created {result}.",
        201,
    )


@bp.post("/tags/<public_id>")
def rename_tag(public_id: str):
    name = request.form.get("name", "")
    return _change(
        _tags_page, lambda: catalog.rename_tag(_one(Tag, public_id), name, admin_log.web()), "Renamed."
    )


@bp.post("/tags/<public_id>/delete")
def delete_tag(public_id: str):
    return _change(
        _tags_page,
        lambda: catalog.delete_tag(_one(Tag, public_id), admin_log.web()),
        "Deleted; it left {result} ticket(s).",
    )


@bp.post("/tags/<public_id>/merge")
def merge_tag(public_id: str):
    return _change(
        _tags_page,
        lambda: catalog.merge_tags(_one(Tag, public_id), _into(Tag), admin_log.web()),
        "Merged; {result} ticket(s) moved.",
    )
