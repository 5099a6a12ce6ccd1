"""Finding and creating customers, always within one organization."""

from dataclasses import dataclass

from .extensions import db
from .models import Customer, Organization


class CustomerNotFound(LookupError):
    """No customer matches the reference in this organization."""


@dataclass(frozen=True)
class CustomerRef:
    """How a caller names a customer; `create` makes one when none matches."""

    external_id: str | None = None
    email: str | None = None
    public_id: str | None = None
    name: str | None = None
    create: bool = False


def normalize_email(email: str | None) -> str | None:
    return email.strip().lower() if email else None


def find_customer(org: Organization, ref: CustomerRef) -> Customer | None:
    """The org's customer named by public id, external id or email, in that order."""
    query = db.select(Customer).where(Customer.org_id == org.id)
    if ref.public_id:
        return db.session.scalar(query.where(Customer.public_id == ref.public_id))
    if ref.external_id:
        return db.session.scalar(query.where(Customer.external_id == ref.external_id))
    if ref.email:
        return db.session.scalar(query.where(Customer.email == normalize_email(ref.email)))
    return None


def resolve_customer(org: Organization, ref: CustomerRef) -> Customer:
    """Find the customer, creating it when the reference allows; else CustomerNotFound."""
    customer = find_customer(org, ref)
    if customer is not None:
        return customer
    if not ref.create or ref.public_id:
        raise CustomerNotFound(ref.public_id or ref.external_id or ref.email)
    customer = Customer(
        org_id=org.id, external_id=ref.external_id, email=normalize_email(ref.email), name=ref.name
    )
    db.session.add(customer)
    db.session.flush()
    return customer


def upsert_customer(
    org: Organization,
    *,
    external_id: str | None = None,
    email: str | None = None,
    name: str | None = None,
) -> tuple[Customer, bool]:
    """Create the customer or update its fields; returns it and whether it was created."""
    customer = None
    if external_id:
        customer = find_customer(org, CustomerRef(external_id=external_id))
    if customer is None and email:
        customer = find_customer(org, CustomerRef(email=email))
    created = customer is None
    if created:
        customer = Customer(org_id=org.id)
        db.session.add(customer)
    if external_id:
        customer.external_id = external_id
    if email:
        customer.email = normalize_email(email)
    if name:
        customer.name = name
    db.session.flush()
    return customer, created
