"""Staff's routes for customers' online bookings: the list, accepting and declining; another
business reaches none of them."""

from datetime import UTC, datetime

import pytest

from tenant_apps.bookings import services
from tests.api.test_query_baselines import count, count_list
from tests.conftest import TestTenant
from tests.events import emitted
from tests.factories import CustomerFactory, PriceBookItemFactory
from tests.isolation import Route, TenantRouteCases, assert_refused

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A slot far ahead of the `now` given: 10:00 in New York on a Monday.
STARTS = datetime(2031, 6, 2, 14, tzinfo=UTC)
NOW = datetime(2031, 5, 30, tzinfo=UTC)


def pending_request(owner: TestTenant, *, starts_at: datetime = STARTS) -> int:
    """A PENDING request of a new customer (the business confirms first)."""
    owner.store_settings(
        online_booking_confirm_first=True, business_hours={day: [["08:00", "18:00"]] for day in ALL_DAYS}
    )
    with owner.schema():
        service = PriceBookItemFactory(duration_minutes=60)
        request, _ = services.request_booking(
            tenant=owner.tenant, customer_id=CustomerFactory().pk, service_id=service.pk, starts_at=starts_at, now=NOW
        )
        return request.pk


class TestBookingRequestIsolation(TenantRouteCases):
    routes = [Route("GET", "/booking-requests")]
    object_routes = [
        Route("GET", "/booking-requests/{id}"),
        Route("POST", "/booking-requests/{id}/accept", {}),
        Route("POST", "/booking-requests/{id}/decline", {"reason": "No"}),
    ]

    def make_object(self, owner: TestTenant) -> int:
        return pending_request(owner)


def test_staff_list_the_pending_ones_and_accept_one(tenant_a):
    request_id = pending_request(tenant_a)
    client = tenant_a.api(as_staff=True)

    listed = client.get("/booking-requests", status="PENDING").json()
    accepted = client.post(f"/booking-requests/{request_id}/accept", {"staff_id": tenant_a.staff.pk})

    assert [item["id"] for item in listed["items"]] == [request_id]
    assert accepted.status_code == 200, accepted.content
    body = accepted.json()
    assert (body["status"], body["decided_by_id"]) == ("ACCEPTED", tenant_a.staff.pk)
    appointment = client.get(f"/appointments/{body['appointment_id']}").json()
    assert (appointment["staff_id"], appointment["starts_at"]) == (tenant_a.staff.pk, "2031-06-02T14:00:00Z")
    with tenant_a.schema():
        assert [event.payload.booking_request_id for event in emitted("booking.accepted")] == [request_id]


def test_a_decided_request_answers_409_with_no_next_state(tenant_a):
    request_id = pending_request(tenant_a)
    client = tenant_a.api()
    declined = client.post(f"/booking-requests/{request_id}/decline", {"reason": "On holiday"})

    again = assert_refused(client.post(f"/booking-requests/{request_id}/accept", {}), 409)

    assert (declined.json()["status"], declined.json()["decline_reason"]) == ("DECLINED", "On holiday")
    assert again["errors"][0] | {"current": "DECLINED", "allowed": []} == again["errors"][0]


def test_accepting_with_someone_already_booked_names_the_clash(tenant_a):
    request_id = pending_request(tenant_a)
    with tenant_a.schema():
        customer_id = CustomerFactory().pk
    tenant_a.api().post(
        "/appointments",
        {
            "customer_id": customer_id,
            "staff_id": tenant_a.staff.pk,
            "title": "Walk-in",
            "starts_at": "2031-06-02T14:00:00Z",
            "ends_at": "2031-06-02T15:00:00Z",
        },
    )

    body = assert_refused(
        tenant_a.api().post(f"/booking-requests/{request_id}/accept", {"staff_id": tenant_a.staff.pk}), 409
    )

    assert body["errors"][0]["code"] == "double_booking"


@pytest.mark.parametrize(
    ("path", "body", "query"),
    [
        pytest.param("/booking-requests", None, {"status": "MAYBE"}, id="unknown status"),
        pytest.param("/booking-requests/{id}/accept", {"staff_id": "me"}, {}, id="staff id not a number"),
        pytest.param("/booking-requests/{id}/decline", {"reason": "x" * 501}, {}, id="reason too long"),
        pytest.param("/booking-requests/{id}/decline", {"why": "x"}, {}, id="unknown field"),
    ],
)
def test_bad_input_is_400(tenant_a, path, body, query):
    request_id = pending_request(tenant_a)
    client = tenant_a.api()
    url = path.format(id=request_id)

    response = client.get(url, **query) if body is None else client.post(url, body)

    assert_refused(response, 400)


def test_query_counts(tenant_a):
    client = tenant_a.api()
    starts = iter(range(100))

    def add(rows: int) -> None:
        for _ in range(rows):
            pending_request(tenant_a, starts_at=STARTS.replace(hour=12 + next(starts) % 10))

    count_list("GET /booking-requests", client, "/booking-requests", add)
    request_id = pending_request(tenant_a, starts_at=STARTS.replace(day=3))
    other_id = pending_request(tenant_a, starts_at=STARTS.replace(day=4))
    assert count("GET /booking-requests/{id}", client, "GET", f"/booking-requests/{request_id}").status_code == 200
    accepted = count("POST /booking-requests/{id}/accept", client, "POST", f"/booking-requests/{request_id}/accept", {})
    assert accepted.status_code == 200, accepted.content
    declined = count("POST /booking-requests/{id}/decline", client, "POST", f"/booking-requests/{other_id}/decline", {})
    assert declined.status_code == 200
