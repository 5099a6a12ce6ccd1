"""`/admin/rules`: the ordered routing rules, their form, and the try-it panel."""

import pytest

from helpdesk import admin_log, rules
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Availability, Category, Level, Priority, RoutingRule, Ticket
from helpdesk.validation import InvalidValue

from .. import factories
from .conftest import HX, admin_events


def make_rule(org, name="Refunds", conditions=None, actions=None, **kw):
    spec = rules.RuleSpec(
        name=name,
        conditions=conditions
        if conditions is not None
        else [{"field": "subject", "op": "contains", "value": "refund"}],
        actions=actions if actions is not None else {"set_priority": "HIGH"},
        **kw,
    )
    with write_transaction():
        rule = rules.create_rule(org.id, spec, admin_log.Changer(label="test", source="cli"))
    return rule


def saved_rules(org) -> list[RoutingRule]:
    db.session.rollback()
    return rules.rules_of(org.id)


@pytest.fixture
def billing(org):
    with write_transaction():
        category = Category(org_id=org.id, name="Billing")
        db.session.add(category)
    return category


def rule_form(**fields) -> dict:
    form = {
        "name": "Refunds",
        "conditions.0.field": "subject",
        "conditions.0.op": "contains",
        "conditions.0.value": "refund",
        "conditions.0.key": "",
        "actions.set_category": "",
        "actions.set_priority": "HIGH",
        "actions.add_tags": "",
        "actions.target_level": "",
        "actions.assign_agent": "",
        "active": "1",
        "do": "save",
    }
    form.update(fields)
    return form


# Access


def test_the_list_is_a_full_page_and_a_fragment(admin_client, org):
    make_rule(org)
    page = admin_client.get("/admin/rules")
    assert page.status_code == 200 and "<html" in page.text and "Refunds" in page.text
    assert "subject contains “refund”" in page.text and "priority HIGH" in page.text
    assert 'aria-current="page"' in page.text  # the nav's "Rules" link
    fragment = admin_client.get("/admin/rules", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Refunds" in fragment.text


def pages(rule) -> list[str]:
    return ["/admin/rules", "/admin/rules/new", f"/admin/rules/{rule.public_id}"]


def writes(rule) -> list[str]:
    rid = rule.public_id
    return ["/admin/rules", "/admin/rules/try", f"/admin/rules/{rid}", f"/admin/rules/{rid}/active",
            f"/admin/rules/{rid}/move", f"/admin/rules/{rid}/delete"]  # fmt: skip


def test_plain_agents_get_403_everywhere(app, org):
    rule = make_rule(org)
    client = app.test_client(user=factories.make_agent(org))
    for url in pages(rule):
        assert client.get(url).status_code == 403, url
    for url in writes(rule):
        assert client.post(url, data=rule_form()).status_code == 403, url
    assert len(saved_rules(org)) == 1


def test_anonymous_people_are_sent_to_sign_in(client, org):
    rule = make_rule(org)
    for url in pages(rule):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_another_organizations_rule_is_a_404(admin_client, other_org):
    theirs = make_rule(other_org, name="Theirs")
    assert admin_client.get(f"/admin/rules/{theirs.public_id}").status_code == 404
    for url in writes(theirs)[2:]:
        assert (
            admin_client.post(url, data={**rule_form(), "direction": "up", "active": "0"}).status_code == 404
        ), url
    assert "Theirs" not in admin_client.get("/admin/rules").text
    [kept] = saved_rules(other_org)
    assert (kept.name, kept.active, kept.actions) == ("Theirs", True, {"set_priority": "HIGH"})
    assert admin_events(source="web") == []


def test_writes_without_a_csrf_token_are_refused(app, org, admin):
    rule = make_rule(org)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client(user=admin)
    for url in writes(rule):
        response = client.post(
            url, data={**rule_form(name="Changed"), "direction": "down", "active": "0"}, headers=HX
        )
        assert response.status_code == 400, url
    [kept] = saved_rules(org)
    assert (kept.name, kept.active) == ("Refunds", True)
    assert admin_events(source="web") == []


# The form


def test_a_rule_created_through_the_form_is_saved_and_audited(admin_client, org, admin, billing):
    factories.make_agent(org, email="bo@example.com", name="Bo")
    response = admin_client.post(
        "/admin/rules",
        data=rule_form(**{
            "conditions.1.field": "metadata", "conditions.1.op": "equals",
            "conditions.1.key": "plan", "conditions.1.value": "gold",
            "conditions.2.field": "subject", "conditions.2.op": "contains",
            "conditions.2.value": "", "conditions.2.key": "",  # an empty row: ignored
            "actions.set_category": "Billing", "actions.add_tags": "refund, vip, refund",
            "actions.target_level": "N2", "actions.assign_agent": "BO@example.com", "stop": "1",
        }),
        headers=HX,
    )  # fmt: skip
    assert response.status_code == 201 and "Created Refunds." in response.text
    [rule] = saved_rules(org)
    assert rule.conditions == [
        {"field": "subject", "op": "contains", "value": "refund"},
        {"field": "metadata", "op": "equals", "value": "gold", "key": "plan"},
    ]
    assert rule.actions == {"set_category": "Billing", "set_priority": "HIGH", "add_tags": ["refund", "vip"],
                            "target_level": "N2", "assign_agent": "bo@example.com"}  # fmt: skip
    assert (rule.stop, rule.active, rule.position) == (True, True, 0)
    [event] = admin_events(action="rule.created")
    assert (event.actor_id, event.source, event.target) == (admin.id, "web", "Refunds")
    assert "metadata plan equals “gold”" in event.new_value and "then stop" in event.new_value


def test_add_condition_re_renders_the_form_with_one_more_empty_row(admin_client, org):
    form = rule_form(do="add")
    response = admin_client.post("/admin/rules", data=form)
    assert response.status_code == 200 and "<html" in response.text
    assert 'name="conditions.0.value" maxlength="200" value="refund"' in response.text
    assert 'name="conditions.1.value"' in response.text and 'name="conditions.2.value"' not in response.text
    again = admin_client.post(
        "/admin/rules", data={**form, "conditions.1.field": "subject", "conditions.1.value": ""}
    )
    assert 'name="conditions.2.value"' in again.text
    assert saved_rules(org) == [] and admin_events() == []


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"name": "  "}, "name"),
        ({"conditions.0.field": "colour"}, "conditions.0.field"),
        ({"conditions.0.op": "matches"}, "conditions.0.op"),
        ({"conditions.0.field": "metadata"}, "conditions.0.key"),
        ({"conditions.0.field": "priority", "conditions.0.op": "equals", "conditions.0.value": "soon"},
         "conditions.0.value"),
        ({"actions.set_priority": "SOON"}, "actions.set_priority"),
        ({"actions.target_level": "N4"}, "actions.target_level"),
        ({"actions.set_category": "Nowhere"}, "actions.set_category"),
        ({"actions.set_category": "Archived"}, "actions.set_category"),
        ({"actions.set_category": "Theirs"}, "actions.set_category"),
        ({"actions.assign_agent": "nobody@example.com"}, "actions.assign_agent"),
        ({"actions.assign_agent": "gone@example.com"}, "actions.assign_agent"),
        ({"actions.assign_agent": "stranger@example.com"}, "actions.assign_agent"),
    ],
)  # fmt: skip
def test_a_bad_form_names_the_field_and_writes_nothing(admin_client, org, other_org, fields, field):
    with write_transaction():
        db.session.add_all([
            Category(org_id=org.id, name="Archived", archived_at=db.func.now()),
            Category(org_id=other_org.id, name="Theirs"),
        ])  # fmt: skip
    gone = factories.make_agent(org, email="gone@example.com")
    with write_transaction():
        db.session.merge(gone).active = False
    factories.make_agent(other_org, email="stranger@example.com")
    rule = make_rule(org, name="Before")
    for url in ("/admin/rules", f"/admin/rules/{rule.public_id}"):
        response = admin_client.post(url, data=rule_form(**fields), headers=HX)
        assert response.status_code == 422, url
        assert f'data-field="{field}"' in response.text
        assert f'id="error-{field.replace(".", "-")}"' in response.text  # beside the control
        assert 'aria-invalid="true"' in response.text
    [kept] = saved_rules(org)
    assert (kept.name, kept.actions) == ("Before", {"set_priority": "HIGH"})
    assert admin_events(source="web") == []


def test_the_validation_function_is_usable_without_the_form(org):
    with pytest.raises(InvalidValue) as raised:
        rules.validate(
            org.id,
            {
                "name": "x",
                "conditions": [
                    {"field": "subject", "op": "contains", "value": "a"},
                    {"field": "nope", "op": "equals", "value": "b"},
                ],
            },
        )
    assert raised.value.field == "conditions.1.field"
    spec = rules.validate(
        org.id, {"name": " Urgent ", "actions": {"set_priority": "urgent", "target_level": "n3"}}
    )
    assert (spec.name, spec.conditions, spec.actions) == (
        "Urgent",
        [],
        {"set_priority": "URGENT", "target_level": "N3"},
    )


def test_editing_a_rule_replaces_it_and_audits_before_and_after(admin_client, org):
    rule = make_rule(org)
    page = admin_client.get(f"/admin/rules/{rule.public_id}")
    assert page.status_code == 200 and 'value="refund"' in page.text
    response = admin_client.post(
        f"/admin/rules/{rule.public_id}", data=rule_form(name="Refunds EU", **{"actions.set_priority": "LOW"})
    )
    assert response.status_code == 200 and "Saved." in response.text
    [saved] = saved_rules(org)
    assert (saved.name, saved.actions) == ("Refunds EU", {"set_priority": "LOW"})
    [event] = admin_events(action="rule.updated")
    assert (event.target, event.old_value, event.new_value) == (
        "Refunds",
        "if subject contains “refund”: priority HIGH",
        "if subject contains “refund”: priority LOW",
    )


def test_reorder_enable_disable_and_delete(admin_client, org):
    first, second, third = (make_rule(org, name=name) for name in ("First", "Second", "Third"))
    response = admin_client.post(f"/admin/rules/{third.public_id}/move", data={"direction": "up"}, headers=HX)
    assert response.status_code == 200 and "<html" not in response.text
    assert [rule.name for rule in saved_rules(org)] == ["First", "Third", "Second"]
    admin_client.post(f"/admin/rules/{first.public_id}/move", data={"direction": "down"})
    assert [(rule.name, rule.position) for rule in saved_rules(org)] == [
        ("Third", 0),
        ("First", 1),
        ("Second", 2),
    ]
    assert (
        "Nothing changed."
        in admin_client.post(f"/admin/rules/{third.public_id}/move", data={"direction": "up"}).text
    )
    assert (
        admin_client.post(f"/admin/rules/{third.public_id}/move", data={"direction": "sideways"}).status_code
        == 400
    )

    admin_client.post(f"/admin/rules/{second.public_id}/active", data={"active": "0"})
    assert [rule.active for rule in saved_rules(org)] == [True, True, False]
    admin_client.post(f"/admin/rules/{second.public_id}/active", data={"active": "1"})
    assert all(rule.active for rule in saved_rules(org))

    admin_client.post(f"/admin/rules/{first.public_id}/delete")
    assert [rule.name for rule in saved_rules(org)] == ["Third", "Second"]
    assert [(event.action, event.target, event.old_value, event.new_value) for event in admin_events()] == [
        ("rule.created", "First", None, "if subject contains “refund”: priority HIGH"),
        ("rule.created", "Second", None, "if subject contains “refund”: priority HIGH"),
        ("rule.created", "Third", None, "if subject contains “refund”: priority HIGH"),
        ("rule.moved", "Third", "3", "2"),
        ("rule.moved", "First", "1", "2"),
        ("rule.disabled", "Second", None, None),
        ("rule.enabled", "Second", None, None),
        ("rule.deleted", "First", "if subject contains “refund”: priority HIGH", None),
    ]


def test_a_disabled_rule_does_not_route(org):
    rule = make_rule(org)
    with write_transaction():
        rules.set_active(
            db.session.get(RoutingRule, rule.id), False, admin_log.Changer(label="t", source="cli")
        )
    ticket = factories.make_ticket(org, subject="refund please")
    assert db.session.get(Ticket, ticket.id).priority == Priority.MEDIUM


# Try it


def test_try_it_on_the_list_shows_the_matching_rules_in_order(admin_client, org):
    make_rule(org, name="Refunds")
    make_rule(
        org,
        name="Gold",
        conditions=[{"field": "metadata", "key": "plan", "op": "equals", "value": "gold"}],
        actions={"add_tags": ["vip"], "target_level": "N2"},
    )
    make_rule(
        org,
        name="Never",
        conditions=[{"field": "subject", "op": "contains", "value": "zzz"}],
        actions={"set_priority": "LOW"},
    )
    response = admin_client.post("/admin/rules/try", headers=HX, data={
        "subject": "Refund for order 12", "description": "", "priority": "MEDIUM",
        "customer_email": "ann@bigcorp.com", "metadata": '{"plan": "gold"}'})  # fmt: skip
    assert response.status_code == 200 and "<html" not in response.text
    result = response.text.split('id="try-result"')[1]
    assert "<li>Refunds</li><li>Gold</li>" in result and "Never" not in result
    assert "<dt>Priority</dt><dd>HIGH</dd>" in result and "<dt>Tags</dt><dd>vip</dd>" in result
    assert "<dt>Level</dt><dd>N2</dd>" in result
    assert admin_events(source="web") == []  # nothing written


def test_try_it_with_bad_json_names_metadata(admin_client, org):
    for metadata in ("{not json", "[1, 2]"):
        response = admin_client.post("/admin/rules/try", data={"subject": "x", "metadata": metadata})
        assert response.status_code == 422 and 'data-field="metadata"' in response.text


def test_try_it_with_a_recent_tickets_reference(admin_client, org, other_org):
    make_rule(org)
    ticket = factories.make_ticket(org, subject="Refund me")
    response = admin_client.post("/admin/rules/try", data={"ticket": str(ticket.number)})
    assert response.status_code == 200 and "<li>Refunds</li>" in response.text
    theirs = factories.make_ticket(other_org, subject="Refund them")
    missing = admin_client.post("/admin/rules/try", data={"ticket": theirs.public_id})
    assert missing.status_code == 422 and 'data-field="ticket"' in missing.text


def test_try_it_on_the_edit_page_uses_the_unsaved_edits(admin_client, org):
    rule = make_rule(org, name="Refunds")
    make_rule(org, name="Later", conditions=[], actions={"add_tags": ["seen"]})
    facts = {"subject": "Invoice question", "priority": "MEDIUM", "metadata": ""}
    edited = rule_form(
        do="try", **{"conditions.0.value": "invoice", "actions.set_priority": "URGENT", "stop": "1"}
    )
    response = admin_client.post(f"/admin/rules/{rule.public_id}", data={**edited, **facts})
    assert response.status_code == 200
    result = response.text.split('id="try-result"')[1]
    assert "<li>Refunds</li>" in result and "Later" not in result  # the unsaved stop ends it
    assert "<dt>Priority</dt><dd>URGENT</dd>" in result
    assert 'value="invoice"' in response.text  # the edits stay in the form
    [saved, _] = saved_rules(org)
    assert saved.conditions[0]["value"] == "refund" and not saved.stop
    assert admin_events(source="web") == []

    new = admin_client.post("/admin/rules", data={**rule_form(name="Fresh", do="try", **{
        "conditions.0.value": "invoice", "actions.set_priority": "LOW"}), **facts})  # fmt: skip
    assert "<li>Later</li><li>Fresh</li>" in new.text and "<dd>LOW</dd>" in new.text
    bad = admin_client.post(f"/admin/rules/{rule.public_id}", data={**edited, **facts, "metadata": "{"})
    assert bad.status_code == 422 and 'data-field="metadata"' in bad.text


# End to end


def test_a_rule_made_in_the_form_routes_tickets_of_both_contracts(app, admin_client, org, billing):
    n2 = factories.make_agent(
        org, level=Level.N2, availability=Availability.AVAILABLE, email="n2@example.com"
    )
    response = admin_client.post("/admin/rules", data=rule_form(**{
        "conditions.0.value": "charged twice", "actions.set_category": "Billing",
        "actions.set_priority": "URGENT", "actions.add_tags": "refund, vip", "actions.target_level": "N2",
    }))  # fmt: skip
    assert response.status_code == 201
    factories.make_customer(org, external_id="user_42", email="ann@bigcorp.com")
    api = app.test_client()
    key = {"X-API-Key": factories.make_api_key(org)[1]}
    supportdesk = api.post(
        "/api/v1/tickets/api-create",
        headers=key,
        json={
            "customerExternalId": "user_42",
            "subject": "I was CHARGED TWICE",
            "description": "Help",
            "priority": "LOW",
        },
    )
    assert supportdesk.status_code == 201, supportdesk.text
    telemetron = api.post(
        "/api/ext-v1/ticket/createTicket",
        headers=key,
        json={"title": "Charged twice again", "customerEmail": "bob@bigcorp.com", "priority": "low"},
    )
    assert telemetron.status_code == 200, telemetron.text
    db.session.rollback()
    tickets = db.session.scalars(db.select(Ticket).where(Ticket.org_id == org.id).order_by(Ticket.id)).all()
    assert [ticket.subject for ticket in tickets] == ["I was CHARGED TWICE", "Charged twice again"]
    for ticket in tickets:
        assert ticket.category.name == "Billing"
        assert ticket.priority == Priority.URGENT
        assert sorted(tag.name for tag in ticket.tags) == ["refund", "vip"]
        assert (ticket.level, ticket.assignee_id) == (Level.N2, n2.id)


def test_the_forms_are_full_pages_and_fragments(admin_client, org):
    rule = make_rule(org)
    for url in ("/admin/rules/new", f"/admin/rules/{rule.public_id}"):
        page = admin_client.get(url)
        assert page.status_code == 200 and "<html" in page.text and 'id="rule-form"' in page.text
        fragment = admin_client.get(url, headers=HX)
        assert "<html" not in fragment.text and 'id="rule-form"' in fragment.text
    assert 'name="conditions.0.value"' in admin_client.get("/admin/rules/new").text  # one empty row to start
    bad = admin_client.post("/admin/rules", data=rule_form(name=""))
    assert bad.status_code == 422 and "<html" in bad.text  # a plain post gets the full page back
