"""Schemathesis over the whole OpenAPI: every operation, valid and invalid inputs,
sent in-process through Django's WSGI application (so the tenancy, idempotency and envelope
middleware run), as a tenant owner on the tenant's own host and on the API host. No answer may
be a 5xx, undocumented, or differ from its documented schema.

Each request runs in a savepoint that is rolled back, inside the test's transaction, so the
session tenants are left as they were. Bounded for CI: a few examples per operation,
derandomized so a failure reproduces."""

from collections.abc import Iterator

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from config.wsgi import application

MAX_EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@pytest.fixture
def wsgi_app_in_test_transaction() -> Iterator[None]:
    """Django closes the connection at the end of a request, which would end the test's
    transaction; its own test client switches that off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(tenant_a, wsgi_app_in_test_transaction, stripe_sandbox):
    """Provider calls (connecting a Stripe account) go to the Stripe sandbox, as in `make run`."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, headers={"Host": settings.BASE_DOMAIN})
    schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_no_undocumented_answer(case, tenant_a):
    for host in (tenant_a.host, settings.BASE_DOMAIN):
        headers = {"Host": host, "Authorization": f"Bearer {tenant_a.owner_token}"}
        with transaction.atomic():
            response = case.call(headers=headers)
            transaction.set_rollback(True)
        case.validate_response(response, checks=CHECKS, headers=headers)
