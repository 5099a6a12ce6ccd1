"""/admin/categories and /admin/tags: counts, unique names ignoring case, archive, merge, delete."""

from helpdesk.extensions import db
from helpdesk.models import Category, Tag, Ticket, TicketEvent

from .. import factories
from .conftest import HX, admin_events


def fresh(model, row_id):
    db.session.rollback()
    return db.session.get(model, row_id)


def categories() -> list[str]:
    db.session.rollback()
    return sorted(db.session.scalars(db.select(Category.name)))


def test_categories_list_counts_by_source(admin_client, org):
    factories.make_ticket(org, category="Billing")
    factories.make_ticket(org, category="billing")  # the same category, ignoring case
    page = admin_client.get("/admin/categories", headers=HX).text
    assert categories() == ["Billing"]
    assert "<td>2</td>\n      <td>2</td>\n      <td>2 · 0 · 0 · 0</td>" in page


def test_create_refuses_a_case_duplicate_naming_the_field(admin_client, org):
    assert admin_client.post("/admin/categories", data={"name": "Refunds"}, headers=HX).status_code == 201
    response = admin_client.post("/admin/categories", data={"name": "REFUNDS"}, headers=HX)
    assert response.status_code == 422 and 'data-field="name"' in response.text
    assert admin_client.post("/admin/categories", data={"name": " "}, headers=HX).status_code == 422
    assert categories() == ["Refunds"]
    assert [e.action for e in admin_events()] == ["category.created"]


def test_rename(admin_client, org):
    factories.make_ticket(org, category="Bills")
    category = db.session.scalar(db.select(Category))
    assert (
        admin_client.post(
            f"/admin/categories/{category.public_id}", data={"name": "Billing"}, headers=HX
        ).status_code
        == 200
    )
    assert categories() == ["Billing"]
    [event] = admin_events(action="category.renamed")
    assert (event.old_value, event.new_value) == ("Bills", "Billing")


def test_an_archived_category_is_kept_by_its_tickets_but_no_longer_matched(admin_client, org):
    old = factories.make_ticket(org, category="Legacy")
    category = db.session.scalar(db.select(Category))
    assert admin_client.post(f"/admin/categories/{category.public_id}/archive", headers=HX).status_code == 200
    new = factories.make_ticket(org, category="legacy")
    assert fresh(Ticket, old.id).category_id == category.id
    assert fresh(Ticket, new.id).category_id is None
    assert categories() == ["Legacy"]  # not created again


def test_merge_moves_tickets_with_their_timeline(admin_client, org):
    a = factories.make_ticket(org, category="Refund")
    factories.make_ticket(org, category="Billing")
    refund = db.session.scalar(db.select(Category).filter_by(name="Refund"))
    billing = db.session.scalar(db.select(Category).filter_by(name="Billing"))
    response = admin_client.post(
        f"/admin/categories/{refund.public_id}/merge", data={"into": billing.public_id}, headers=HX
    )
    assert response.status_code == 200 and "1 ticket(s) moved" in response.text
    assert fresh(Ticket, a.id).category_id == billing.id
    assert categories() == ["Billing"]
    event = db.session.scalar(db.select(TicketEvent).filter_by(ticket_id=a.id, field="category"))
    assert (event.old_value, event.new_value, event.actor_label) == ("Refund", "Billing", "Ada Admin")


def test_merge_into_nothing_or_itself_writes_nothing(admin_client, org):
    factories.make_ticket(org, category="Refund")
    refund = db.session.scalar(db.select(Category))
    for into in ("", refund.public_id, "no-such-id"):
        response = admin_client.post(
            f"/admin/categories/{refund.public_id}/merge", data={"into": into}, headers=HX
        )
        assert response.status_code == 422 and 'data-field="into"' in response.text
    assert categories() == ["Refund"] and admin_events() == []


def test_tags_list_their_ids_with_a_copy_button(admin_client, org):
    factories.make_ticket(org)
    assert admin_client.post("/admin/tags", data={"name": "vip"}, headers=HX).status_code == 201
    tag = db.session.scalar(db.select(Tag))
    page = admin_client.get("/admin/tags", headers=HX).text
    assert f'<code id="tag-id-{tag.public_id}">{tag.public_id}</code>' in page
    assert f'data-copy="#tag-id-{tag.public_id}"' in page
    assert admin_client.post("/admin/tags", data={"name": "VIP"}, headers=HX).status_code == 422


def test_tags_typed_on_a_ticket_ignore_case(app, org):
    from helpdesk import tickets
    from helpdesk.db import write_transaction

    with write_transaction():
        first = tickets.tags_named(org.id, ["Billing", "billing", "BILLING"])
    with write_transaction():
        again = tickets.tags_named(org.id, ["bILLING"])
    assert len(first) == 1 and again[0].id == first[0].id
    assert db.session.scalars(db.select(Tag.name)).all() == ["Billing"]


def test_merge_and_delete_tags(admin_client, org):
    with_both = factories.make_ticket(org)
    with_old = factories.make_ticket(org)
    from helpdesk import tickets
    from helpdesk.db import write_transaction

    with write_transaction():
        old, new = tickets.tags_named(org.id, ["bug", "defect"])
        db.session.get(Ticket, with_both.id).tags = [old, new]
        db.session.get(Ticket, with_old.id).tags = [old]
        old_id, new_id, old_public, new_public = old.id, new.id, old.public_id, new.public_id
    response = admin_client.post(f"/admin/tags/{old_public}/merge", data={"into": new_public}, headers=HX)
    assert response.status_code == 200, response.text
    assert fresh(Tag, old_id) is None
    assert [t.name for t in fresh(Ticket, with_both.id).tags] == ["defect"]
    assert [t.name for t in fresh(Ticket, with_old.id).tags] == ["defect"]
    assert admin_client.post(f"/admin/tags/{new_public}/delete", headers=HX).status_code == 200
    assert fresh(Ticket, with_old.id).tags == [] and fresh(Tag, new_id) is None
    assert [e.action for e in admin_events()] == ["tag.merged", "tag.deleted"]


def test_another_organizations_rows_are_404(admin_client, other_org):
    factories.make_ticket(other_org, category="Theirs")
    theirs = db.session.scalar(db.select(Category))
    assert (
        admin_client.post(f"/admin/categories/{theirs.public_id}", data={"name": "Mine"}).status_code == 404
    )
    assert admin_client.post(f"/admin/categories/{theirs.public_id}/archive").status_code == 404
    assert admin_client.post(f"/admin/tags/{theirs.public_id}/delete").status_code == 404
    assert categories() == ["Theirs"]
