"""Demo data for `make run`: made through the same services as real data."""

import secrets
from pathlib import Path

from . import accounts, audit
from .customers import CustomerRef, upsert_customer
from .extensions import db
from .models import Availability, Channel, Level, MessageRole, Priority, Role, RoutingRule, Tag
from .tickets import NewMessage, NewTicket, category_named, create_ticket

SUMMARY_FILE = "demo-credentials.txt"

TICKETS = [
    dict(
        customer="user_42",
        subject="Payment failed for order #12345",
        priority=Priority.HIGH,
        category="Billing",
        description=(
            "Payment attempt failed with **CARD_DECLINED**.\n\n"
            "- Order: `12345`\n- Amount: 99.90 EUR\n\nCustomer has been notified by email."
        ),
        metadata={"orderId": "12345", "amount": 99.9, "errorCode": "CARD_DECLINED"},
        messages=[
            ("customer", "I was charged but the order says *payment failed*. Can you check?"),
            ("bot", "I've opened a ticket for you. An agent will look at it shortly."),
        ],
    ),
    dict(
        customer="user_77",
        subject="Order #20931 stuck in 'processing' for 3 days",
        priority=Priority.MEDIUM,
        category="Orders",
        description="The warehouse webhook never confirmed shipment.\n\n> last event: `picked`",
        metadata={"orderId": "20931", "warehouse": "BER-2"},
        messages=[("customer", "Where is my parcel? It's been three days.")],
    ),
    dict(
        customer="john.doe@example.com",
        subject="Device not connecting to WiFi",
        priority=Priority.URGENT,
        category="Connectivity",
        description=(
            "Customer reports their device fails to connect after firmware update **v2.3.1**.\n\n"
            "1. Factory reset tried\n2. Router rebooted\n3. Still failing"
        ),
        metadata={"deviceId": "TX-88412", "firmware": "2.3.1"},
        messages=[
            ("customer", "My thermostat dropped off WiFi after last night's update."),
            ("bot", "Have you tried restarting the router?"),
            ("customer", "Yes, twice. Still offline."),
        ],
    ),
    dict(
        customer="user_42",
        subject="Invoice address wrong on March invoice",
        priority=Priority.LOW,
        category="Billing",
        description="Please change the company name on invoice `INV-2026-0312` to *Acme GmbH*.",
        metadata={},
        messages=[],
    ),
    dict(
        customer="user_77",
        subject="Refund not received",
        priority=Priority.HIGH,
        category="Billing",
        description="Refund for order #19811 approved 14 days ago, not on the card statement.",
        metadata={"orderId": "19811"},
        messages=[("customer", "It's been two weeks. I need this money back.")],
    ),
]


def seed(base_url: str) -> str:
    """Create the demo organization; returns the text to show the user."""
    org = accounts.create_org("Demo Inc", "demo", "INV", monthly_quota=None)
    password = secrets.token_urlsafe(9)
    admin = accounts.create_agent(
        org, email="admin@example.com", name="Ada Admin", password=password,
        role=Role.ADMIN, level=Level.N2, availability=Availability.AWAY,
    )
    for email, name, level in [
        ("nina@example.com", "Nina N1", Level.N1),
        ("omar@example.com", "Omar N1", Level.N1),
        ("sam@example.com", "Sam N2", Level.N2),
    ]:
        accounts.create_agent(
            org, email=email, name=name, password=password, level=level,
            availability=Availability.AVAILABLE,
        )
    upsert_customer(org, external_id="user_42", email="john@acme.com", name="John Acme")
    upsert_customer(org, external_id="user_77", email="mia@example.org", name="Mia Berg")
    upsert_customer(org, email="john.doe@example.com", name="John Doe")
    for name in ("Billing", "Orders", "Connectivity", "Account"):
        category_named(org.id, name)
    vip = Tag(org_id=org.id, name="vip")
    db.session.add_all([vip, Tag(org_id=org.id, name="refund")])
    db.session.add(
        RoutingRule(
            org_id=org.id, name="Refunds are urgent", position=1,
            conditions=[{"field": "subject", "op": "contains", "value": "refund"}],
            actions={"set_priority": "URGENT", "add_tags": ["refund"]},
        )
    )
    db.session.flush()
    actor = audit.Actor(label="Demo seed")
    for spec in TICKETS:
        customer = spec["customer"]
        ref = CustomerRef(email=customer) if "@" in customer else CustomerRef(external_id=customer)
        create_ticket(
            org,
            NewTicket(
                subject=spec["subject"], customer=ref, description=spec["description"],
                priority=spec["priority"], category=spec["category"], metadata=spec["metadata"],
                channel=Channel.API, tag_ids=[vip.public_id] if spec["priority"] == "HIGH" else [],
                messages=[NewMessage(MessageRole(r), text) for r, text in spec["messages"]],
            ),
            actor,
        )
    _key, secret = accounts.issue_api_key(org, "Demo shop")
    return (
        f"Demo organization ready at {base_url}\n"
        f"  Sign in as {admin.email} / {password}\n"
        f"  (agents nina@, omar@, sam@example.com share that password)\n"
        f"  API key: {secret}\n\n"
        "Open a ticket through the API:\n"
        f"  curl -X POST {base_url}/api/v1/tickets/api-create \\\n"
        f'    -H "X-API-Key: {secret}" -H "Content-Type: application/json" \\\n'
        """    -d '{"customerExternalId": "user_42", "subject": "Payment failed for order #12345", """
        """"description": "Payment attempt failed with CARD_DECLINED.", "priority": "HIGH"}'\n"""
    )


def save_summary(instance: Path, summary: str) -> None:
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance / SUMMARY_FILE
    path.write_text(summary)
    path.chmod(0o600)


def saved_summary(instance: Path) -> str:
    path = instance / SUMMARY_FILE
    if path.exists():
        return "Using the existing database.\n" + path.read_text()
    return "Using the existing database."
