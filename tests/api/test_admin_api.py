"""The admin API: categories, tags and routing rules by script, with an `admin` key."""

import pytest

from helpdesk import accounts, admin_log, catalog
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import (
    AdminEvent,
    Availability,
    Category,
    Level,
    Priority,
    RoutingRule,
    Tag,
    Ticket,
    TicketEvent,
)

from .. import factories

RULE = {
    "name": "Double charges",
    "conditions": [
        {"field": "subject", "op": "contains", "value": "charged twice"},
        {"field": "customerEmailDomain", "op": "equals", "value": "bigcorp.com"},
    ],
    "actions": {
        "setCategory": "billing",
        "setPriority": "URGENT",
        "addTags": ["refund", "vip"],
        "targetLevel": "N2",
    },
}


@pytest.fixture
def admin_key(org):
    return {"X-API-Key": factories.make_api_key(org, name="terraform", scope="admin")[1]}


@pytest.fixture
def tickets_key(org):
    return {"X-API-Key": factories.make_api_key(org, name="shop", scope="tickets")[1]}


@pytest.fixture
def billing(org):
    with write_transaction():
        category = Category(org_id=org.id, name="Billing")
        db.session.add(category)
    return category


@pytest.fixture
def other_org(app):
    return factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")


def saved(model, org) -> list:
    db.session.rollback()  # a fresh read: the app committed in its own transaction
    return list(db.session.scalars(db.select(model).where(model.org_id == org.id).order_by(model.id)))


def api_events(org) -> list[tuple]:
    return [
        (event.action, event.target, event.actor_label)
        for event in saved(AdminEvent, org)
        if event.source == "api"
    ]


def make_rule(client, key, **changes) -> dict:
    response = client.post("/api/v1/routing-rules", json=RULE | changes, headers=key)
    assert response.status_code == 201, response.text
    return response.json["data"]


# Who may call what

ADMIN_ROUTES = [
    ("get", "/api/v1/categories", None),
    ("post", "/api/v1/categories", {"name": "Billing"}),
    ("post", "/api/v1/tags", {"name": "vip"}),
    ("get", "/api/v1/routing-rules", None),
    ("post", "/api/v1/routing-rules", {"name": "Every ticket"}),
    ("get", "/api/v1/routing-rules/{rule}", None),
    ("patch", "/api/v1/routing-rules/{rule}", {"stop": True}),
    ("delete", "/api/v1/routing-rules/{rule}", None),
]


@pytest.fixture
def rule(client, admin_key):
    return make_rule(client, admin_key, actions={"setPriority": "HIGH"})


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_a_tickets_key_gets_403_and_changes_nothing(client, org, tickets_key, rule, method, path, body):
    before = [(r.name, r.stop) for r in saved(RoutingRule, org)], len(saved(AdminEvent, org))
    response = getattr(client, method)(path.format(rule=rule["id"]), json=body, headers=tickets_key)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "FORBIDDEN"
    assert "scope admin" in response.json["error"]["message"]
    assert ([(r.name, r.stop) for r in saved(RoutingRule, org)], len(saved(AdminEvent, org))) == before
    assert saved(Category, org) == [] and saved(Tag, org) == []


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_no_key_or_a_revoked_key_is_401(client, org, rule, method, path, body):
    key, secret = factories.make_api_key(org, name="old", scope="admin")
    with write_transaction():
        accounts.revoke_api_key(db.session.merge(key))
    url = path.format(rule=rule["id"])
    for headers in ({}, {"X-API-Key": secret}, {"X-API-Key": "hd_not_a_key"}):
        response = getattr(client, method)(url, json=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json["error"]["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_an_admin_key_may(client, admin_key, rule, method, path, body):
    response = getattr(client, method)(path.format(rule=rule["id"]), json=body, headers=admin_key)
    assert response.status_code in (200, 201), response.text
    assert response.json["success"] is True


def test_any_key_may_list_tags_with_the_ids_tag_ids_takes(client, org, admin_key, tickets_key):
    vip = client.post("/api/v1/tags", json={"name": "vip"}, headers=admin_key).json["data"]
    listed = client.get("/api/v1/tags", headers=tickets_key)
    assert listed.status_code == 200
    assert [(tag["id"], tag["name"]) for tag in listed.json["data"]] == [(vip["id"], "vip")]
    factories.make_customer(org, external_id="user_42")
    ticket = client.post(
        "/api/v1/tickets/api-create",
        json={"customerExternalId": "user_42", "subject": "Hi", "description": "x", "tagIds": [vip["id"]]},
        headers=tickets_key,
    )
    assert ticket.status_code == 201, ticket.text
    assert [tag.name for tag in saved(Ticket, org)[0].tags] == ["vip"]


def test_another_organizations_rule_is_a_404_and_stays(client, org, other_org, admin_key):
    their_key = {"X-API-Key": factories.make_api_key(other_org, scope="admin")[1]}
    theirs = make_rule(client, their_key, actions={"setPriority": "LOW"})
    url = f"/api/v1/routing-rules/{theirs['id']}"
    for method, body in (("get", None), ("patch", {"name": "Mine now"}), ("delete", None)):
        response = getattr(client, method)(url, json=body, headers=admin_key)
        assert response.status_code == 404 and response.json["error"]["code"] == "NOT_FOUND"
    assert [rule.name for rule in saved(RoutingRule, other_org)] == ["Double charges"]
    assert client.get("/api/v1/routing-rules", headers=admin_key).json["data"] == []


def test_lists_show_only_the_callers_organization(client, org, other_org, admin_key, billing):
    with write_transaction():
        db.session.add(Category(org_id=other_org.id, name="Theirs"))
        db.session.add(Tag(org_id=other_org.id, name="theirs"))
    assert [c["name"] for c in client.get("/api/v1/categories", headers=admin_key).json["data"]] == [
        "Billing"
    ]
    assert client.get("/api/v1/tags", headers=admin_key).json["data"] == []


# Categories and tags


def test_creating_a_category_answers_201_lists_it_and_audits(client, org, admin_key):
    response = client.post("/api/v1/categories", json={"name": "  Billing "}, headers=admin_key)
    assert response.status_code == 201
    data = response.json["data"]
    assert (data["name"], data["archived"]) == ("Billing", False)
    assert data["id"] == saved(Category, org)[0].public_id and data["createdAt"].endswith("Z")
    listed = client.get("/api/v1/categories", headers=admin_key).json
    assert listed == {"success": True, "data": [data]}
    assert api_events(org) == [("category.created", "Billing", "API key terraform")]


@pytest.mark.parametrize("path", ["/api/v1/categories", "/api/v1/tags"])
def test_a_name_taken_in_any_case_is_409_and_writes_nothing(client, org, admin_key, path):
    assert client.post(path, json={"name": "Billing"}, headers=admin_key).status_code == 201
    response = client.post(path, json={"name": "BILLING"}, headers=admin_key)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "CONFLICT"
    assert response.json["error"]["details"][0]["field"] == "name"
    assert len(api_events(org)) == 1


@pytest.mark.parametrize("path", ["/api/v1/categories", "/api/v1/tags"])
@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Field required"),
        ({"name": "   "}, "blank"),
        ({"name": 7}, "string"),
        ({"name": "x" * 101}, "at most"),
    ],
)
def test_a_bad_name_is_400_naming_it(client, org, admin_key, path, body, message):
    response = client.post(path, json=body, headers=admin_key)
    assert response.status_code == 400
    detail = response.json["error"]["details"][0]
    assert detail["field"] == "name" and message in detail["message"]
    assert saved(Category, org) == [] and saved(Tag, org) == [] and api_events(org) == []


def test_a_tag_name_is_at_most_60_characters(client, org, admin_key):
    response = client.post("/api/v1/tags", json={"name": "t" * 61}, headers=admin_key)
    assert response.status_code == 400 and response.json["error"]["details"][0]["field"] == "name"
    assert client.post("/api/v1/tags", json={"name": "t" * 60}, headers=admin_key).status_code == 201


# Routing rules


def test_a_rule_is_created_as_sent_and_read_back(client, org, admin_key, billing):
    data = make_rule(client, admin_key)
    assert data["name"] == "Double charges" and data["position"] == 0
    assert (data["active"], data["stop"]) == (True, False)
    assert data["conditions"] == RULE["conditions"]
    assert data["actions"] == {
        "setCategory": "Billing",  # the category's own spelling
        "setPriority": "URGENT",
        "addTags": ["refund", "vip"],
        "targetLevel": "N2",
        "assignAgent": None,
    }
    assert client.get(f"/api/v1/routing-rules/{data['id']}", headers=admin_key).json["data"] == data
    (rule,) = saved(RoutingRule, org)
    assert rule.conditions[1]["field"] == "customer_email_domain"  # routing.py's vocabulary
    assert api_events(org) == [("rule.created", "Double charges", "API key terraform")]


def test_position_places_a_rule_and_the_list_is_in_evaluation_order(client, admin_key, billing):
    first = make_rule(client, admin_key, name="First")
    second = make_rule(client, admin_key, name="Second")
    zeroth = make_rule(client, admin_key, name="Zeroth", position=0)
    last = make_rule(client, admin_key, name="Last", position=999)
    listed = client.get("/api/v1/routing-rules", headers=admin_key).json["data"]
    assert [(rule["name"], rule["position"]) for rule in listed] == [
        ("Zeroth", 0), ("First", 1), ("Second", 2), ("Last", 3)
    ]  # fmt: skip
    moved = client.patch(f"/api/v1/routing-rules/{last['id']}", json={"position": 1}, headers=admin_key)
    assert moved.json["data"]["position"] == 1
    listed = client.get("/api/v1/routing-rules", headers=admin_key).json["data"]
    assert [rule["id"] for rule in listed] == [zeroth["id"], last["id"], first["id"], second["id"]]


def test_patch_changes_what_it_names_as_a_merge_patch(client, org, admin_key, billing):
    rule = make_rule(client, admin_key)
    url = f"/api/v1/routing-rules/{rule['id']}"
    response = client.patch(
        url,
        json={
            "stop": True,
            "conditions": [{"field": "metadata", "op": "equals", "key": "plan", "value": "gold"}],
            "actions": {"setPriority": None, "addTags": ["gold"]},
        },
        headers=admin_key,
    )
    assert response.status_code == 200, response.text
    data = response.json["data"]
    assert (data["name"], data["active"], data["stop"]) == ("Double charges", True, True)
    assert data["conditions"] == [{"field": "metadata", "op": "equals", "value": "gold", "key": "plan"}]
    assert data["actions"] == {
        "setCategory": "Billing",  # not named: kept
        "setPriority": None,  # null: removed
        "addTags": ["gold"],  # replaced
        "targetLevel": "N2",
        "assignAgent": None,
    }
    assert client.get(url, headers=admin_key).json["data"] == data
    events = [e for e in saved(AdminEvent, org) if e.action == "rule.updated"]
    assert len(events) == 1 and "URGENT" in events[0].old_value and "URGENT" not in events[0].new_value


def test_delete_removes_the_rule_and_audits(client, org, admin_key, billing):
    rule = make_rule(client, admin_key)
    response = client.delete(f"/api/v1/routing-rules/{rule['id']}", headers=admin_key)
    assert response.status_code == 200
    assert response.json["data"] == {"id": rule["id"], "name": "Double charges"}
    assert saved(RoutingRule, org) == []
    assert client.get(f"/api/v1/routing-rules/{rule['id']}", headers=admin_key).status_code == 404
    assert [event[0] for event in api_events(org)] == ["rule.created", "rule.deleted"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": ""}, "name"),
        ({"conditions": [{"field": "colour", "op": "equals", "value": "red"}]}, "conditions.0.field"),
        ({"conditions": [{"field": "subject", "op": "like", "value": "x"}]}, "conditions.0.op"),
        ({"conditions": [{"field": "subject", "op": "equals", "value": " "}]}, "conditions.0.value"),
        ({"conditions": [{"field": "metadata", "op": "equals", "value": "gold"}]}, "conditions.0.key"),
        ({"conditions": [{"field": "priority", "op": "equals", "value": "huge"}]}, "conditions.0.value"),
        (
            {"conditions": [{"field": "subject", "op": "equals", "value": "x", "colour": 1}]},
            "conditions.0.colour",
        ),
        ({"actions": {"setCategory": "Nope"}}, "actions.setCategory"),
        ({"actions": {"setPriority": "HUGE"}}, "actions.setPriority"),
        ({"actions": {"targetLevel": "N4"}}, "actions.targetLevel"),
        ({"actions": {"assignAgent": "nobody@example.com"}}, "actions.assignAgent"),
        ({"actions": {"assignAgent": "gone@example.com"}}, "actions.assignAgent"),
        ({"actions": {"addTags": ["x" * 61]}}, "actions.addTags.0"),
        ({"actions": {"setColour": "red"}}, "actions.setColour"),
        ({"stop": "yes"}, "stop"),
        ({"position": -1}, "position"),
    ],
)
def test_a_bad_rule_is_400_naming_the_field_and_writes_nothing(
    client, org, admin_key, billing, change, field
):
    gone = factories.make_agent(org, email="gone@example.com")
    with write_transaction():
        db.session.merge(gone).active = False
    existing = make_rule(client, admin_key)
    before = len(saved(AdminEvent, org))
    for method, url in (
        ("post", "/api/v1/routing-rules"),
        ("patch", f"/api/v1/routing-rules/{existing['id']}"),
    ):
        body = RULE | change if method == "post" else change
        response = getattr(client, method)(url, json=body, headers=admin_key)
        assert response.status_code == 400, (method, response.text)
        assert response.json["error"]["code"] == "VALIDATION_ERROR"
        assert field in [detail["field"] for detail in response.json["error"]["details"]], response.text
    assert [rule.public_id for rule in saved(RoutingRule, org)] == [existing["id"]]
    assert client.get(f"/api/v1/routing-rules/{existing['id']}", headers=admin_key).json["data"] == existing
    assert len(saved(AdminEvent, org)) == before


def test_renaming_or_merging_a_category_or_tag_takes_its_rules_along(app, client, org, admin_key, billing):
    rule = make_rule(client, admin_key)
    changer = admin_log.Changer(label="test", source="cli")
    with write_transaction():
        catalog.rename_category(db.session.merge(billing), "Payments", changer)
        vip = catalog.create_tag(org.id, "VIP customers", changer)
    with write_transaction():
        catalog.merge_tags(catalog.create_tag(org.id, "Refund", changer), vip, changer)
    actions = client.get(f"/api/v1/routing-rules/{rule['id']}", headers=admin_key).json["data"]["actions"]
    assert actions["setCategory"] == "Payments"
    assert actions["addTags"] == ["VIP customers", "vip"]
    with write_transaction():
        catalog.delete_tag(db.session.merge(vip), changer)
    actions = client.get(f"/api/v1/routing-rules/{rule['id']}", headers=admin_key).json["data"]["actions"]
    assert actions["addTags"] == ["vip"]


# Rules made through the API route real tickets through both contracts


@pytest.fixture
def n2(org):
    return factories.make_agent(
        org, name="Nina N2", email="nina@example.com", level=Level.N2, availability=Availability.AVAILABLE
    )


def test_an_api_rule_routes_tickets_of_both_contracts(client, org, admin_key, tickets_key, billing, n2):
    factories.make_agent(org, email="n1@example.com", availability=Availability.AVAILABLE)
    make_rule(client, admin_key)
    factories.make_customer(org, external_id="user_42", email="ann@bigcorp.com")
    supportdesk = client.post(
        "/api/v1/tickets/api-create",
        json={"customerExternalId": "user_42", "subject": "I was CHARGED TWICE", "description": "Help"},
        headers=tickets_key,
    )
    assert supportdesk.status_code == 201, supportdesk.text
    assert supportdesk.json["data"]["priority"] == "URGENT"
    assert supportdesk.json["data"]["assignedAgent"]["email"] == "nina@example.com"
    telemetron = client.post(
        "/api/ext-v1/ticket/createTicket",
        json={"title": "Charged twice for March", "customerEmail": "bob@bigcorp.com", "priority": "low"},
        headers=tickets_key,
    )
    assert telemetron.status_code == 200, telemetron.text
    other = client.post(
        "/api/ext-v1/ticket/createTicket",
        json={"title": "Charged twice", "customerEmail": "eve@smallshop.com"},
        headers=tickets_key,
    )
    assert other.status_code == 200
    *routed, unrouted = saved(Ticket, org)
    for ticket in routed:
        assert ticket.category.name == "Billing"
        assert ticket.priority == Priority.URGENT
        assert sorted(tag.name for tag in ticket.tags) == ["refund", "vip"]
        assert (ticket.level, ticket.assignee_id) == (Level.N2, n2.id)
        timeline = db.session.scalars(db.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))
        assert "Rule: Double charges" in [event.actor_label for event in timeline]
    assert unrouted.level == Level.N1 and unrouted.priority == Priority.MEDIUM  # another domain


def test_an_api_rule_can_assign_a_named_agent(client, org, admin_key, tickets_key, n2):
    make_rule(client, admin_key, name="Gold", conditions=[
        {"field": "metadata", "op": "equals", "key": "plan", "value": "gold"}
    ], actions={"assignAgent": "NINA@example.com"})  # fmt: skip
    factories.make_customer(org, external_id="user_42")
    created = client.post(
        "/api/v1/tickets/api-create",
        json={
            "customerExternalId": "user_42",
            "subject": "Hello",
            "description": "x",
            "metadata": {"plan": "GOLD"},
        },
        headers=tickets_key,
    )
    assert created.status_code == 201, created.text
    assert created.json["data"]["assignedAgent"]["email"] == "nina@example.com"


def test_the_openapi_document_describes_the_admin_api(client):
    spec = client.get("/api/v1/openapi.json").json
    assert set(spec["paths"]["/api/v1/routing-rules/{id}"]) == {"get", "patch", "delete"}
    create = spec["paths"]["/api/v1/routing-rules"]["post"]
    assert create["responses"]["403"]["description"].startswith("FORBIDDEN")
    assert set(spec["components"]["schemas"]["RuleActions"]["properties"]) == {
        "setCategory", "setPriority", "addTags", "targetLevel", "assignAgent"
    }  # fmt: skip
    assert "/api/v1/tags" in client.get("/api/v1/docs").text
