"""Finding and creating customers, always within one organization."""

from dataclasses import dataclass

from sqlalchemy import Row, Select, bindparam, select

from .db import execute
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


def _customer_by(column, *what) -> Select:
    return select(*what).where(Customer.org_id == bindparam("org_id"), column == bindparam("value"))


# Built once: the API looks a customer up on every ticket it opens. By the name of the
# reference's field: as a model, and as a row of what a new ticket shows of its customer.
LOOKUP = {
    "public_id": Customer.public_id,
    "external_id": Customer.external_id,
    "email": Customer.email,
}
BY = {name: _customer_by(column, Customer) for name, column in LOOKUP.items()}
ROW_BY = {
    name: _customer_by(
        column, Customer.id, Customer.public_id, Customer.external_id, Customer.email, Customer.name
    )
    for name, column in LOOKUP.items()
}


def _lookup(ref: CustomerRef) -> tuple[str, str] | None:
    """Which field names the customer, and its value: public id, external id, then email."""
    if ref.public_id:
        return "public_id", ref.public_id
    if ref.external_id:
        return "external_id", ref.external_id
    if ref.email:
        return "email", normalize_email(ref.email)
    return None


def find_customer(org_id: int, ref: CustomerRef) -> Customer | None:
    """The org's customer named by public id, external id or email, in that order."""
    lookup = _lookup(ref)
    if lookup is None:
        return None
    return db.session.scalar(BY[lookup[0]], {"org_id": org_id, "value": lookup[1]})


def find_customer_row(org_id: int, ref: CustomerRef) -> Row | None:
    """As `find_customer`, as a row (id, public_id, external_id, email, name), which stays
    readable after its transaction ends: ticket creation reads it before the write lock."""
    lookup = _lookup(ref)
    if lookup is None:
        return None
    return execute(ROW_BY[lookup[0]], {"org_id": org_id, "value": lookup[1]}).first()


def resolve_customer(org_id: int, ref: CustomerRef) -> Customer:
    """Find the customer, creating it when the reference allows; else CustomerNotFound."""
    customer = find_customer(org_id, ref)
    if customer is not None:
        return customer
    if not ref.create or ref.public_id:
        raise CustomerNotFound(ref.public_id or ref.external_id or ref.email)
    customer = Customer(
        org_id=org_id, external_id=ref.external_id, email=normalize_email(ref.email), name=ref.name
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
        customer = find_customer(org.id, CustomerRef(external_id=external_id))
    if customer is None and email:
        customer = find_customer(org.id, CustomerRef(email=email))
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
