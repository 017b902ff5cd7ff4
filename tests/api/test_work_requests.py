"""Staff's routes for customers' work requests: the list (photo counts, constant queries), a
request with its photos, converting and closing; another business reaches none of them."""

from datetime import UTC, datetime

import pytest

from tenant_apps.work_requests import services
from tests.api.test_query_baselines import count, count_list
from tests.conftest import TestTenant
from tests.factories import CustomerFactory
from tests.isolation import Route, TenantRouteCases, assert_refused
from tests.tenant_apps.files.helpers import PDF_BYTES, jpeg_with_gps

STARTS = datetime(2031, 6, 2, 14, tzinfo=UTC)


def work_request(owner: TestTenant, *, photos=()) -> int:
    with owner.schema():
        return services.create_work_request(
            customer_id=CustomerFactory().pk,
            description="The tap drips",
            address="12 High Street",
            preferred_times="Mornings",
            photos=list(photos),
        ).pk


class TestWorkRequestIsolation(TenantRouteCases):
    routes = [Route("GET", "/work-requests")]
    object_routes = [
        Route("GET", "/work-requests/{id}"),
        Route("POST", "/work-requests/{id}/convert", {"to": "quote"}),
        Route("POST", "/work-requests/{id}/close", {"reason": "No"}),
    ]

    def make_object(self, owner: TestTenant) -> int:
        return work_request(owner)


def test_a_request_shows_its_place_and_photos(tenant_a):
    request_id = work_request(tenant_a, photos=[("tap.jpg", jpeg_with_gps()), ("plan.pdf", PDF_BYTES)])
    client = tenant_a.api(as_staff=True)

    listed = client.get("/work-requests", status="NEW").json()["items"]
    one = client.get(f"/work-requests/{request_id}").json()

    assert [(item["id"], item["photo_count"]) for item in listed] == [(request_id, 2)]
    assert one["address"] == "12 High Street"
    assert [photo["content_type"] for photo in one["photos"]] == ["image/jpeg", "application/pdf"]
    download = client.get(f"/attachments/{one['photos'][0]['id']}/download")
    assert download.status_code == 200, download.content


def test_convert_into_an_appointment_then_no_more(tenant_a):
    request_id = work_request(tenant_a)
    client = tenant_a.api()
    body = {
        "to": "appointment",
        "starts_at": "2031-06-02T14:00:00Z",
        "ends_at": "2031-06-02T15:00:00Z",
        "staff_id": tenant_a.staff.pk,
    }

    converted = client.post(f"/work-requests/{request_id}/convert", body)
    again = client.post(f"/work-requests/{request_id}/close", {})

    assert converted.status_code == 200, converted.content
    assert converted.json()["status"] == "CONVERTED"
    appointment = client.get(f"/appointments/{converted.json()['appointment_id']}").json()
    assert (appointment["title"], appointment["property_id"]) == ("The tap drips", converted.json()["property_id"])
    assert_refused(again, 409)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"to": "invoice"}, id="unknown target"),
        pytest.param({"to": "appointment"}, id="appointment without times"),
        pytest.param({"to": "appointment", "starts_at": "tomorrow", "ends_at": "later"}, id="times not times"),
        pytest.param({"to": "appointment", "starts_at": "2031-06-02T14:00:00"}, id="naive time"),
    ],
)
def test_bad_conversions_are_400(tenant_a, body):
    request_id = work_request(tenant_a)

    assert_refused(tenant_a.api().post(f"/work-requests/{request_id}/convert", body), 400)


def test_query_counts(tenant_a):
    client = tenant_a.api()

    def add(rows: int) -> None:
        for _ in range(rows):
            work_request(tenant_a, photos=[("plan.pdf", PDF_BYTES)])

    count_list("GET /work-requests", client, "/work-requests", add)
    first, second = work_request(tenant_a), work_request(tenant_a)
    assert count("GET /work-requests/{id}", client, "GET", f"/work-requests/{first}").status_code == 200
    converted = count(
        "POST /work-requests/{id}/convert", client, "POST", f"/work-requests/{first}/convert", {"to": "quote"}
    )
    assert converted.status_code == 200, converted.content
    closed = count("POST /work-requests/{id}/close", client, "POST", f"/work-requests/{second}/close", {})
    assert closed.status_code == 200
