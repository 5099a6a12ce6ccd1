"""Finding and creating customers, always within one organization."""

from dataclasses import dataclass

from sqlalchemy import Select, bindparam, select

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


def _customer_by(column) -> Select:
    return select(Customer).where(
        Customer.org_id == bindparam("org_id"), column == bindparam("value")
    )


# Built once: the API looks a customer up on every ticket it opens.
BY_PUBLIC_ID = _customer_by(Customer.public_id)
BY_EXTERNAL_ID = _customer_by(Customer.external_id)
BY_EMAIL = _customer_by(Customer.email)


def find_customer(org: Organization, ref: CustomerRef) -> Customer | None:
    """The org's customer named by public id, external id or email, in that order."""
    if ref.public_id:
        statement, value = BY_PUBLIC_ID, ref.public_id
    elif ref.external_id:
        statement, value = BY_EXTERNAL_ID, ref.external_id
    elif ref.email:
        statement, value = BY_EMAIL, normalize_email(ref.email)
    else:
        return None
    return db.session.scalar(statement, {"org_id": org.id, "value": value})


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
