"""Every curl example of the two reference documents, run verbatim by bash against gunicorn.

Only the base URL is changed. Supportdesk's example reads the key from
$SUPPORTDESK_API_KEY; Telemetron's carries the literal `your_api_key_here`, so the test
organization gets an API key with exactly that secret. (The Supportdesk page as saved
flattens the example's line continuations; it is given here with its line breaks.)
"""

import json
import os
import subprocess

import pytest

from helpdesk.accounts import hash_key
from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import ApiKey, Availability, Category, Message, Ticket

from .. import factories

SUPPORTDESK = """\
curl -X POST https://supportdesk.innovartx.com/api/v1/tickets/api-create \\
  -H "X-API-Key: $SUPPORTDESK_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{ "customerExternalId": "user_42", "subject": "Payment failed for order #12345", "description": "Payment attempt failed with CARD_DECLINED. Customer has been notified by email.", "priority": "HIGH", "metadata": { "orderId": "12345", "amount": 99.9 } }'
"""  # noqa: E501

TELEMETRON_EMAIL = """\
curl -X POST https://admin.telemetron.ai/api/ext-v1/ticket/createTicket \\
  -H "x-api-key: your_api_key_here" \\
  -H "Content-Type: application/json" \\
  -d '{
    "title": "Device not connecting to WiFi",
    "description": "Customer reports their device fails to connect after firmware update v2.3.1",
    "priority": "high",
    "customerEmail": "john.doe@example.com",
    "category": "Connectivity"
  }'
"""

TELEMETRON_ID = """\
curl -X POST https://admin.telemetron.ai/api/ext-v1/ticket/createTicket \\
  -H "x-api-key: your_api_key_here" \\
  -H "Content-Type: application/json" \\
  -d '{
    "title": "Battery draining too fast",
    "customerId": "cust_a1b2c3d4e5f6",
    "priority": "medium"
  }'
"""

TELEMETRON_MESSAGES = """\
curl -X POST https://admin.telemetron.ai/api/ext-v1/ticket/createTicket \\
  -H "x-api-key: your_api_key_here" \\
  -H "Content-Type: application/json" \\
  -d '{
    "title": "Device overheating during charging",
    "customerEmail": "john.doe@example.com",
    "priority": "high",
    "messages": [
      { "role": "customer", "content": "My device gets very hot when I plug it in to charge." },
      { "role": "bot", "content": "I'\\''m sorry to hear that. How long has this been happening?" },
      { "role": "customer", "content": "Started about a week ago after the latest update." }
    ]
  }'
"""


def run_curl(example: str, base_url: str, env: dict | None = None) -> dict:
    command = example.replace("https://supportdesk.innovartx.com", base_url).replace(
        "https://admin.telemetron.ai", base_url
    )
    result = subprocess.run(
        ["bash", "-c", command.rstrip() + " --silent --show-error --write-out '\\n%{http_code}'"],
        capture_output=True, text=True, timeout=30, env={**os.environ, **(env or {})},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    body, _, status = result.stdout.rpartition("\n")
    return {"status": int(status), "body": json.loads(body)}


@pytest.mark.slow
def test_the_supportdesk_curl_example(live_server, org):
    agent = factories.make_agent(org, name="Agent N1", availability=Availability.AVAILABLE)
    factories.make_customer(org, external_id="user_42", email="john@acme.com")
    secret = factories.make_api_key(org)[1]

    answer = run_curl(SUPPORTDESK, live_server.url, {"SUPPORTDESK_API_KEY": secret})

    assert answer["status"] == 201
    data = answer["body"]["data"]
    assert (data["subject"], data["status"], data["priority"], data["channel"]) == (
        "Payment failed for order #12345", "IN_PROGRESS", "HIGH", "API"
    )  # fmt: skip
    assert data["customer"]["externalId"] == "user_42"
    assert data["assignedAgent"]["email"] == agent.email
    db.session.rollback()
    assert db.session.scalar(db.select(Ticket.meta)) == {"orderId": "12345", "amount": 99.9}


@pytest.mark.slow
def test_the_three_telemetron_curl_examples(live_server, org):
    with write_transaction():
        db.session.add(ApiKey(org_id=org.id, name="docs", prefix="your_api_k",
                              key_hash=hash_key("your_api_key_here")))  # fmt: skip
        db.session.add(Category(org_id=org.id, name="Connectivity"))
    factories.make_customer(org, external_id="cust_a1b2c3d4e5f6")

    answers = [
        run_curl(example, live_server.url)
        for example in (TELEMETRON_EMAIL, TELEMETRON_ID, TELEMETRON_MESSAGES)
    ]

    for answer in answers:
        assert answer["status"] == 200
        assert answer["body"]["success"] is True
        assert answer["body"]["message"] == "Ticket created successfully"
    db.session.rollback()
    wifi, battery, heat = (
        db.session.scalar(db.select(Ticket).where(Ticket.public_id == a["body"]["ticketId"]))
        for a in answers
    )
    assert (wifi.category.name, wifi.customer.email) == ("Connectivity", "john.doe@example.com")
    assert battery.customer.external_id == "cust_a1b2c3d4e5f6"
    assert heat.customer_id == wifi.customer_id
    contents = db.session.scalars(
        db.select(Message.body).where(Message.ticket_id == heat.id).order_by(Message.id)
    ).all()
    assert contents[1] == "I'm sorry to hear that. How long has this been happening?"
