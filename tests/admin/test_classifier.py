"""/admin/classifier: what it learnt from, its held-out accuracy, its threshold."""

import pytest

from helpdesk import classify
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import CategorySource, Organization, Ticket

from .. import factories
from .conftest import HX, admin_events

BILLING = "My invoice was charged twice, please refund the payment"
LOGIN = "I cannot sign in, the password reset email never arrives"


def confirmed_history(org, count: int) -> None:
    for n in range(count):
        billing = n % 2 == 0
        factories.make_ticket(org, subject=BILLING if billing else LOGIN, description="",
                              category="Billing" if billing else "Login")


def test_the_page_counts_examples_per_category_and_measures_accuracy(app, admin_client, org):
    total = 70
    confirmed_history(org, total)
    page = admin_client.get("/admin/classifier", headers=HX)
    assert page.status_code == 200
    assert f"<strong>{total}</strong>" in page.text
    assert "<tr><td>Billing</td><td>35</td></tr>" in page.text
    assert "<tr><td>Login</td><td>35</td></tr>" in page.text
    assert "all but the newest 14 confirmed tickets" in page.text  # a fifth of 70
    assert "14 of 14 right" in page.text
    assert "<strong>100%</strong>" in page.text
    assert "not yet" not in page.text  # the page trains this process's model


def test_accuracy_is_measured_on_the_newest_and_ignores_its_own_guesses(app, org):
    confirmed_history(org, 300)
    factories.make_ticket(org, subject=BILLING, description="")  # categorised by the classifier itself
    db.session.rollback()
    newest = db.session.scalar(db.select(Ticket).order_by(Ticket.id.desc()))
    assert newest.category_source == CategorySource.AUTO
    measured = classify.accuracy(org.id, 0.6)
    assert measured.held_out == classify.HELD_OUT and measured.correct == classify.HELD_OUT
    assert measured.rate == 1


def test_too_little_history_says_so(admin_client, org):
    confirmed_history(org, 49)
    page = admin_client.get("/admin/classifier", headers=HX).text
    assert "once there are 50 confirmed tickets" in page and "<strong>—</strong>" in page


def test_the_threshold_defaults_to_the_configured_one_and_is_kept_per_organization(app, admin_client, org):
    assert 'value="0.6"' in admin_client.get("/admin/classifier", headers=HX).text
    response = admin_client.post("/admin/classifier", data={"threshold": "0.85"}, headers=HX)
    assert response.status_code == 200 and "Saved." in response.text
    db.session.rollback()
    assert db.session.get(Organization, org.id).classifier_threshold == 0.85
    [event] = admin_events(action="org.classifier_threshold")
    assert (event.old_value, event.new_value) == ("0.6", "0.85")


@pytest.mark.parametrize("value", ["", "high", "-0.1", "1.01", "nan", "inf"])
def test_a_bad_threshold_is_refused_naming_the_field(admin_client, org, value):
    response = admin_client.post("/admin/classifier", data={"threshold": value}, headers=HX)
    assert response.status_code == 422 and 'data-field="threshold"' in response.text
    db.session.rollback()
    assert db.session.get(Organization, org.id).classifier_threshold is None
    assert admin_events() == []


def test_tickets_use_the_organizations_threshold(app, org):
    confirmed_history(org, 20)
    with write_transaction():
        db.session.get(Organization, org.id).classifier_threshold = 1.0  # nothing is ever that sure
    ticket = factories.make_ticket(org, subject=BILLING, description="")
    assert ticket.category_id is None
    with write_transaction():
        db.session.get(Organization, org.id).classifier_threshold = 0.0
    ticket = factories.make_ticket(org, subject=BILLING, description="")
    assert ticket.category_source == CategorySource.AUTO


@pytest.mark.parametrize("confirmed, held_out", [(0, 0), (49, 0), (50, 10), (70, 14), (250, 50), (5000, 50)])
def test_a_fifth_is_held_out_between_ten_and_fifty(confirmed, held_out):
    assert classify.held_out_count(confirmed) == held_out
