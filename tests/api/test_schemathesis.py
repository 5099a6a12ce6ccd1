"""Schemathesis against /api/v1/openapi.json: no 5xx, no response that breaks the schema.

Every operation is exercised with valid data (positive) and with data the schema forbids
(negative, which must be refused with a 4xx), in-process through the WSGI app on the
test database. Hypothesis is derandomized so a failure reproduces.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import Tag

from .. import factories

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 40


def negative_data_refused(ctx, response, case):
    """Schemathesis's negative_data_rejection, also counting our documented 413 as refusal."""
    if response.status_code == 413:
        return True
    return negative_data_rejection(ctx, response, case)


@pytest.fixture
def schema(app, org, n1_agent):
    # Something to find: customers, tickets with messages and tags.
    customer = factories.make_customer(org, external_id="user_42")
    with write_transaction():
        db.session.add(Tag(org_id=org.id, name="vip"))
    for _ in range(3):
        factories.make_ticket(org, customer=customer)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_conforms_to_the_document(schema, org, mode):
    checks = CHECKS + ([negative_data_refused] if mode == GenerationMode.NEGATIVE else [])
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16
    # An admin key may call every operation, the admin API's included.
    headers = {"X-API-Key": factories.make_api_key(org, scope="admin")[1]}

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def conforms(case):
            case.call_and_validate(headers=headers, checks=checks)

        conforms()
