"""/admin/audit: every admin change, newest first, paginated with bounded pages."""

import pytest

from helpdesk import admin_log
from helpdesk.db import write_transaction

from .. import factories
from .conftest import HX

SCRIPT = admin_log.Changer(label="A script", source="api")


def log(org, count: int, action: str = "tag.created") -> None:
    with write_transaction():
        for n in range(count):
            admin_log.record(org.id, SCRIPT, action, f"tag {n}", None, f"value {n}")


def test_changes_made_on_the_admin_pages_are_listed_with_who_what_from_and_to(admin_client, org, admin):
    admin_client.post("/admin/classifier", data={"threshold": "0.7"}, headers=HX)
    admin_client.post("/admin/tags", data={"name": "vip"}, headers=HX)
    page = admin_client.get("/admin/audit", headers=HX)
    assert page.status_code == 200
    rows = page.text.split('<tr id="admin-event-')[1:]
    assert len(rows) == 2
    assert "tag." in rows[0] and "vip" in rows[0]  # newest first
    assert "org.classifier_threshold" in rows[1] and "<td>0.6</td>" in rows[1] and "<td>0.7</td>" in rows[1]
    assert admin.name in rows[1] and "web" in rows[1]


def test_pages_hold_fifty_newest_first_and_go_no_further_than_the_last(admin_client, org):
    log(org, 120)
    first = admin_client.get("/admin/audit", headers=HX).text
    assert first.count('<tr id="admin-event-') == 50
    assert "tag 119" in first and "tag 69" not in first and "Page 1 of 3" in first
    last = admin_client.get("/admin/audit?page=3", headers=HX).text
    assert last.count('<tr id="admin-event-') == 20 and "<td>tag 0</td>" in last
    assert "Older" not in last and "Newer" in last


@pytest.mark.parametrize("number", ["4", "0", "-1", "x", "1.5", "99999999999999999999", ""])
def test_a_page_out_of_range_is_a_404_never_a_500(admin_client, org, number):
    log(org, 120)
    assert admin_client.get(f"/admin/audit?page={number}").status_code == 404


def test_an_empty_log_has_one_page(admin_client):
    page = admin_client.get("/admin/audit")
    assert page.status_code == 200 and "No changes yet." in page.text
    assert admin_client.get("/admin/audit?page=2").status_code == 404


def test_another_organizations_changes_are_not_shown(admin_client, org, other_org):
    log(other_org, 3, action="secret.change")
    assert "secret.change" not in admin_client.get("/admin/audit").text


def test_plain_agents_cannot_read_it(app, org):
    assert app.test_client(user=factories.make_agent(org)).get("/admin/audit").status_code == 403
