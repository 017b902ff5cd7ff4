"""Error reports with SENTRY_DSN set, caught by an in-memory transport instead of the network."""

import json
import logging
from collections.abc import Iterator

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from api import customers as customers_api
from shared_apps.observability.sentry import init_sentry

PHONE = "+12025550177"
EMAIL = "linus.private@example.com"
CLIENT_IP = "203.0.113.7"


class KeptEvents(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[dict] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.fixture
def reports() -> Iterator[KeptEvents]:
    transport = KeptEvents()
    init_sentry(dsn="https://key@sentry.invalid/1", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn=None)


def test_an_unhandled_error_is_reported_with_tenant_and_request_tags_and_no_personal_data(
    reports, tenant_a, monkeypatch
):
    def broken_lookup(**filters):
        logging.getLogger("customers").warning("Looking up %s", filters["search"])
        raise RuntimeError(f"lookup of {EMAIL} / {PHONE} failed")

    monkeypatch.setattr(customers_api.queries, "list_customers", broken_lookup)

    response = tenant_a.api().request("GET", "/customers", headers={"X-Forwarded-For": CLIENT_IP}, search=EMAIL)

    assert response.status_code == 500
    [event] = reports.events
    assert event["tags"]["tenant"] == tenant_a.tenant.schema_name
    assert event["tags"]["request_id"] == response["X-Request-ID"]
    assert event["exception"]["values"][-1]["value"] == "lookup of [redacted] / [redacted] failed"
    assert event["transaction"] == "/api/v1/customers"
    assert "Authorization" not in event.get("request", {}).get("headers", {})
    reported = json.dumps(event)
    for personal in (EMAIL, PHONE, PHONE[2:], CLIENT_IP, tenant_a.owner_token):
        assert personal not in reported


def test_without_sentry_dsn_nothing_is_set_up(settings):
    from shared_apps.observability import sentry

    settings.SENTRY_DSN = ""

    assert sentry.configure_from_environment() is False
    assert sentry_sdk.get_client().dsn is None
