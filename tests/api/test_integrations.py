"""The webhooks API: endpoints (generic CRUD and isolation cases), event types, the delivery
log's keyset pages, re-sends, rotation and the test ping; owners and admins only."""

import uuid

import pytest
from django.utils import timezone

from shared_apps.events.catalogue import EVENT_TYPES
from tenant_apps.integrations import services
from tenant_apps.integrations.models import WebhookDelivery
from tests.api.generic import CreateTests, DeleteTests, GetTests, ListTests, VersionedUpdateTests
from tests.api.test_query_baselines import count, count_list
from tests.isolation import Route, assert_refused

URL = "https://127.0.0.1:9/hooks"


def make_endpoint(owner, **fields) -> int:
    with owner.schema():
        endpoint, _ = services.create_endpoint(url=URL, event_types=["invoice.paid"], **fields)
        return endpoint.pk


def add_deliveries(owner, endpoint_id: int, number: int) -> list[int]:
    """Deliveries as the subscriber makes them (their first attempts are queued, not run)."""
    with owner.schema():
        endpoint = services.queries.get_endpoint(endpoint_id=endpoint_id)
        return [
            services._new_delivery(endpoint=endpoint, event_id=uuid.uuid4(), event_type="invoice.paid", body="{}").pk
            for _ in range(number)
        ]


OBJECT_ROUTES = [
    Route("GET", "/webhooks/endpoints/{id}"),
    Route("PATCH", "/webhooks/endpoints/{id}", {"description": "Mine now", "version": 1}),
    Route("DELETE", "/webhooks/endpoints/{id}"),
    Route("POST", "/webhooks/endpoints/{id}/rotate-secret"),
    Route("POST", "/webhooks/endpoints/{id}/test"),
    Route("GET", "/webhooks/endpoints/{id}/deliveries"),
    Route("POST", "/webhooks/endpoints/{id}/deliveries/1/resend"),
    Route("POST", "/webhooks/endpoints/{id}/resend", {"since": "2026-01-01T00:00:00Z"}),
]


class TestWebhookEndpointAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    # Its item schema has more than columns (nested rows, computed values): Ninja's path.
    list_from_values = False
    path = "/webhooks/endpoints"
    routes = [
        Route("GET", "/webhooks/endpoints"),
        Route("POST", "/webhooks/endpoints", {"url": URL, "event_types": ["invoice.paid"]}),
        Route("GET", "/webhooks/event-types"),
    ]
    object_routes = OBJECT_ROUTES
    create_expected = {"url": URL, "event_types": ["invoice.paid", "payment.received"], "enabled": True, "version": 1}
    create_fields = {"id", "secret", "description", "created_at", "failing_since", "disabled_at"}
    invalid_create = [
        ({"event_types": ["invoice.eaten"]}, "event_types"),
        ({"event_types": []}, "event_types"),
        ({"url": "not a url"}, "url"),
        ({"url": "ftp://127.0.0.1/x"}, "url"),
        ({"url": "https://user:password@127.0.0.1/x"}, "url"),
    ]
    update_data = {"description": "Dispatch board", "event_types": ["customer.created"], "version": 1}
    update_expected = {"description": "Dispatch board", "event_types": ["customer.created"]}

    def create_data(self, owner):
        return {"url": URL, "event_types": ["payment.received", "invoice.paid", "invoice.paid"]}

    def make_object(self, owner):
        return make_endpoint(owner)


def test_the_secret_is_shown_at_creation_only(tenant_a):
    created = tenant_a.api().post("/webhooks/endpoints", {"url": URL, "event_types": ["invoice.paid"]}).json()

    listed = tenant_a.api().get("/webhooks/endpoints").json()["items"]
    assert created["secret"].startswith("whsec_")
    assert all("secret" not in row for row in listed)


@pytest.mark.parametrize("route", [*TestWebhookEndpointAPI.routes, *OBJECT_ROUTES], ids=str)
def test_staff_may_not_use_webhooks(tenant_a, route):
    endpoint_id = make_endpoint(tenant_a)

    assert_refused(route.call(tenant_a.api(as_staff=True), id=endpoint_id), 403)


def test_event_types_are_the_catalogue_with_payload_schemas(tenant_a):
    response = count("GET /webhooks/event-types", tenant_a.api(), "GET", "/webhooks/event-types")

    types = {row["type"]: row for row in response.json()}
    assert set(types) == set(EVENT_TYPES)
    assert types["invoice.paid"]["payload"]["properties"]["amount_due"] == {"title": "Amount Due", "type": "integer"}


def test_delivery_log_pages_by_cursor_at_a_constant_cost(tenant_a):
    endpoint_id = make_endpoint(tenant_a)
    path = f"/webhooks/endpoints/{endpoint_id}/deliveries"

    page = count_list(
        "GET /webhooks/endpoints/{id}/deliveries",
        tenant_a.api(),
        path,
        lambda number: add_deliveries(tenant_a, endpoint_id, number),
        limit=10,
    ).json()
    rest = tenant_a.api().get(path, limit=100, cursor=page["next_cursor"]).json()

    ids = [row["id"] for row in page["items"] + rest["items"]]
    assert len(ids) == 22 and ids == sorted(ids, reverse=True)
    assert rest["next_cursor"] is None


def test_a_bad_cursor_is_400(tenant_a):
    endpoint_id = make_endpoint(tenant_a)

    body = assert_refused(tenant_a.api().get(f"/webhooks/endpoints/{endpoint_id}/deliveries", cursor="abc"), 400)

    assert body["errors"][0]["field"] == "cursor"


def test_rotation_ping_and_resends_cost_their_baselines(tenant_a):
    start = timezone.now()
    endpoint_id = make_endpoint(tenant_a)
    [delivery_id] = add_deliveries(tenant_a, endpoint_id, 1)
    base = f"/webhooks/endpoints/{endpoint_id}"
    api = tenant_a.api()

    rotated = count("POST /webhooks/endpoints/{id}/rotate-secret", api, "POST", f"{base}/rotate-secret")
    ping = count("POST /webhooks/endpoints/{id}/test", api, "POST", f"{base}/test")
    resent = count(
        "POST /webhooks/endpoints/{id}/deliveries/{id}/resend", api, "POST", f"{base}/deliveries/{delivery_id}/resend"
    )
    since = count("POST /webhooks/endpoints/{id}/resend", api, "POST", f"{base}/resend", {"since": start.isoformat()})

    assert rotated.status_code == 200 and rotated.json()["previous_secret_expires_at"]
    assert ping.status_code == 202 and ping.json()["event_type"] == "webhook.test"
    assert resent.status_code == 202 and resent.json()["id"] == delivery_id
    assert since.status_code == 202 and since.json() == {"count": 2}  # the delivery and the ping


def test_another_tenant_cannot_resend_a_delivery(tenant_a, tenant_b):
    endpoint_id = make_endpoint(tenant_a)
    [delivery_id] = add_deliveries(tenant_a, endpoint_id, 1)
    path = f"/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/resend"

    assert_refused(tenant_b.api().post(path), 404)
    assert_refused(tenant_b.api(on_api_host=True).post(path), 404)
    with tenant_a.schema():
        assert WebhookDelivery.objects.get(pk=delivery_id).attempts.count() == 0


def test_a_delivery_of_another_endpoint_is_404(tenant_a):
    first, second = make_endpoint(tenant_a), make_endpoint(tenant_a)
    [delivery_id] = add_deliveries(tenant_a, first, 1)

    assert_refused(tenant_a.api().post(f"/webhooks/endpoints/{second}/deliveries/{delivery_id}/resend"), 404)


def test_resend_since_needs_a_time_with_an_offset(tenant_a):
    endpoint_id = make_endpoint(tenant_a)

    body = assert_refused(
        tenant_a.api().post(f"/webhooks/endpoints/{endpoint_id}/resend", {"since": "2026-01-01T00:00:00"}), 400
    )

    assert body["errors"][0]["field"] == "since"


def test_the_delivery_log_filters_by_status(tenant_a):
    endpoint_id = make_endpoint(tenant_a)
    add_deliveries(tenant_a, endpoint_id, 2)
    path = f"/webhooks/endpoints/{endpoint_id}/deliveries"

    pending = tenant_a.api().get(path, status="pending").json()["items"]
    succeeded = tenant_a.api().get(path, status="succeeded").json()["items"]
    refused = assert_refused(tenant_a.api().get(path, status="lost"), 400)

    assert (len(pending), succeeded) == (2, [])
    assert refused["errors"][0]["field"] == "status"
