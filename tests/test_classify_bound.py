"""Categorising a ticket costs the same however many categories an organization has."""

import math

import pytest

from helpdesk import classify
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Category, CategorySource, Ticket

from . import factories


def _history(org, customer, categories: int, per_category: int = 2) -> None:
    """`categories` categories used through the API, with distinct words each."""
    number = 0
    with write_transaction():
        for index in range(categories):
            category = Category(org_id=org.id, name=f"Category {index}")
            db.session.add(category)
            db.session.flush()
            for _ in range(per_category):
                number += 1
                db.session.add(Ticket(
                    org_id=org.id, number=number, customer_id=customer.id,
                    subject=f"printer paper jam word{index:05d}",
                    description="the office printer jams", category_id=category.id,
                    category_source=CategorySource.API,
                ))


def _logs_per_prediction(org_id: int, monkeypatch) -> int:
    calls = 0
    real_log = math.log

    def counting_log(value):
        nonlocal calls
        calls += 1
        return real_log(value)

    classify.forget()
    model = classify.train(org_id)
    monkeypatch.setattr(classify.math, "log", counting_log)
    try:
        assert model.predict("my printer has a paper jam again, says word00001") is not None
    finally:
        monkeypatch.setattr(classify.math, "log", real_log)
    return calls


@pytest.mark.parametrize("many", [2600])
def test_prediction_work_does_not_grow_with_the_number_of_categories(app, monkeypatch, many):
    small_org, large_org = factories.make_org(), factories.make_org()
    _history(small_org, factories.make_customer(small_org), classify.MODEL_CATEGORIES)
    _history(large_org, factories.make_customer(large_org), many)
    small = _logs_per_prediction(small_org.id, monkeypatch)
    large = _logs_per_prediction(large_org.id, monkeypatch)
    assert large == small
    assert len(classify.train(large_org.id).priors) == classify.MODEL_CATEGORIES


def test_the_model_keeps_the_most_used_categories(app):
    org = factories.make_org()
    customer = factories.make_customer(org)
    _history(org, customer, classify.MODEL_CATEGORIES + 20, per_category=1)
    with write_transaction():
        busy = Category(org_id=org.id, name="Busy")
        db.session.add(busy)
        db.session.flush()
        for number in range(1000, 1005):
            db.session.add(Ticket(
                org_id=org.id, number=number, customer_id=customer.id, subject="vpn tunnel down",
                description="vpn", category_id=busy.id, category_source=CategorySource.API,
            ))
    classify.forget()
    model = classify.train(org.id)
    assert busy.id in model.priors
    assert model.predict("the vpn tunnel is down")[0] == busy.id
