"""Routing rules and categorisation from history (SPEC §4)."""

import pytest

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import (
    Availability,
    Category,
    CategorySource,
    Level,
    Priority,
    RoutingRule,
    Ticket,
    TicketEvent,
)
from helpdesk.routing import TicketFacts, matches

from . import factories


def add_rule(org, conditions, actions, position=0, stop=False):
    with write_transaction():
        db.session.add(
            RoutingRule(
                org_id=org.id, name=f"rule {position}", position=position,
                conditions=conditions, actions=actions, stop=stop,
            )
        )


FACTS = TicketFacts(
    subject="Refund for order 12", description="Card was charged twice", priority="HIGH",
    category=None, customer_email="ann@bigcorp.com", metadata={"plan": "gold", "n": 3},
)


@pytest.mark.parametrize(
    "condition, expected",
    [
        ({"field": "subject", "op": "contains", "value": "REFUND"}, True),
        ({"field": "subject", "op": "contains", "value": "invoice"}, False),
        ({"field": "description", "op": "contains", "value": "twice"}, True),
        ({"field": "priority", "op": "equals", "value": "high"}, True),
        ({"field": "priority", "op": "equals", "value": "LOW"}, False),
        ({"field": "customer_email_domain", "op": "equals", "value": "bigcorp.com"}, True),
        ({"field": "customer_email_domain", "op": "equals", "value": "corp.com"}, False),
        ({"field": "metadata", "key": "plan", "op": "equals", "value": "gold"}, True),
        ({"field": "metadata", "key": "n", "op": "equals", "value": "3"}, True),
        ({"field": "metadata", "key": "missing", "op": "equals", "value": "x"}, False),
    ],
)
def test_conditions(condition, expected):
    assert matches(condition, FACTS) is expected


def test_rule_actions_apply_to_a_new_ticket(org):
    factories.make_agent(org, availability=Availability.AVAILABLE)  # N1, must not get it
    n2 = factories.make_agent(org, availability=Availability.AVAILABLE, level=Level.N2)
    add_rule(
        org,
        [{"field": "subject", "op": "contains", "value": "outage"}],
        {"set_category": "Incidents", "set_priority": "CRITICAL", "add_tags": ["sev1"],
         "target_level": "N2"},
    )
    ticket = factories.make_ticket(org, subject="Total outage in EU")
    db.session.rollback()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.category.name == "Incidents"
    assert ticket.category_source == CategorySource.RULE
    assert ticket.priority == Priority.CRITICAL
    assert [tag.name for tag in ticket.tags] == ["sev1"]
    assert (ticket.level, ticket.assignee_id) == (Level.N2, n2.id)
    routed = db.session.scalar(
        db.select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.action == "routed")
    )
    assert routed.actor_label == "Rule: rule 0"


def test_rule_can_assign_a_named_agent_and_stop_ends_evaluation(org):
    named = factories.make_agent(org, availability=Availability.AWAY, email="vip-desk@example.com")
    factories.make_agent(org, availability=Availability.AVAILABLE)
    add_rule(org, [{"field": "customer_email_domain", "op": "equals", "value": "vip.com"}],
             {"assign_agent": "vip-desk@example.com"}, position=1, stop=True)
    add_rule(org, [], {"set_priority": "LOW"}, position=2)
    customer = factories.make_customer(org, email="boss@vip.com")
    ticket = factories.make_ticket(org, customer=customer, priority=Priority.HIGH)
    assert ticket.assignee_id == named.id
    assert ticket.priority == Priority.HIGH  # the second rule never ran


def test_inactive_rules_are_ignored(org):
    add_rule(org, [], {"set_priority": "URGENT"})
    with write_transaction():
        db.session.scalar(db.select(RoutingRule)).active = False
    assert factories.make_ticket(org).priority == Priority.MEDIUM


def test_uncategorised_ticket_is_categorised_from_history(org):
    for subject in ("Card declined at checkout", "Refund for double charge", "Invoice is wrong"):
        factories.make_ticket(org, subject=subject, description="payment card charge invoice",
                              category="Billing")
    for subject in ("WiFi keeps dropping", "Router firmware update failed", "Device offline"):
        factories.make_ticket(org, subject=subject, description="wifi router network offline",
                              category="Connectivity")
    ticket = factories.make_ticket(org, subject="My wifi router is offline again",
                                   description="network keeps dropping")
    db.session.rollback()
    ticket = db.session.get(Ticket, ticket.id)
    assert ticket.category.name == "Connectivity"
    assert ticket.category_source == CategorySource.AUTO
    assert 0.6 <= ticket.category_confidence <= 1


def test_no_guess_below_threshold_or_without_history(org):
    ticket = factories.make_ticket(org, subject="Hello", description="Anything")
    assert ticket.category_id is None and ticket.category_source is None


def test_auto_categories_do_not_train_the_classifier(org, app):
    from helpdesk import classify

    for _ in range(6):
        factories.make_ticket(org, subject="wifi offline", description="router", category="Net")
    factories.make_ticket(org, subject="wifi router offline", description="router")
    classify.forget()
    model = classify.train(org.id)
    net = db.session.scalar(db.select(Category.id).where(Category.name == "Net"))
    assert sum(model.word_counts[net].values()) == 6 * 3  # only the six trusted tickets


def test_a_stale_model_serves_while_one_thread_retrains_it(org, app, monkeypatch):
    """No request waits for a retrain, and requests that find the model stale together
    start one retrain between them; the retrained model replaces the stale one."""
    import threading
    import time

    from helpdesk import classify

    for _ in range(5):
        factories.make_ticket(org, subject="card declined", description="payment", category="Billing")
    stale = classify.model(org.id)  # the first model is trained by its caller
    stale.trained_at -= classify.MAX_AGE + 1
    for _ in range(5):
        factories.make_ticket(org, subject="wifi offline", description="router", category="Network")

    started, release, calls = threading.Event(), threading.Event(), []
    train = classify.train

    def slow_train(org_id):
        calls.append(org_id)
        started.set()
        assert release.wait(10), "a caller waited for the retrain"
        return train(org_id)

    monkeypatch.setattr(classify, "train", slow_train)
    for _ in range(3):
        assert classify.model(org.id) is stale
    assert started.wait(10)
    assert classify.model(org.id) is stale
    release.set()
    deadline = time.monotonic() + 10
    while classify.model(org.id) is stale and time.monotonic() < deadline:
        time.sleep(0.01)
    network = db.session.scalar(db.select(Category.id).where(Category.name == "Network"))
    assert network in classify.model(org.id).priors
    assert calls == [org.id]
