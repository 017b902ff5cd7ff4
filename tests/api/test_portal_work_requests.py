"""Asking for work from a customer's link: the public JSON route (multipart, with photos) and
the page; photos by the files' rules; a link reaches only its own customer's requests."""

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from tenant_apps.files.models import Attachment
from tenant_apps.work_requests.models import WorkRequest
from tests.api.generic import assert_query_count, counted
from tests.api.test_query_baselines import count
from tests.factories import PropertyFactory
from tests.isolation import assert_refused
from tests.portal import make_link, page
from tests.tenant_apps.files.helpers import SCRIPT_BYTES, jpeg_with_gps

API = "/api/v1"


def photo(name: str = "tap.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data if data is not None else jpeg_with_gps(), content_type="image/jpeg")


def post_json_route(link, data: dict):
    """The public route, as a front end posts its form (multipart/form-data)."""
    return page(f"{API}{link.json_path('/work-requests')}", host=link.host, method="POST", data=data)


def test_a_customer_asks_for_work_with_photos(tenant_a):
    link = make_link(tenant_a)

    answer = post_json_route(
        link,
        {
            "description": "The kitchen tap drips",
            "address": "12 High Street",
            "preferred_times": "Mornings",
            "photos": [photo(), photo("sink.jpg")],
        },
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["status"], body["address"], body["photo_count"]) == ("NEW", "12 High Street", 2)
    with tenant_a.schema():
        request = WorkRequest.objects.get()
        assert request.customer_id == link.customer.pk
        assert Attachment.objects.filter(parent_type="work_request", parent_id=request.pk).count() == 2
    listed = link.api().get(link.json_path("/work-requests")).json()
    assert [item["id"] for item in listed] == [body["id"]]


def test_at_one_of_their_addresses(tenant_a):
    link = make_link(tenant_a)
    with tenant_a.schema():
        place = PropertyFactory(customer=link.customer)

    answer = post_json_route(link, {"description": "Fence", "property_id": str(place.pk)})

    assert answer.json()["address"] == place.one_line()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param({}, "description", id="no description"),
        pytest.param({"description": "x" * 2001}, "description", id="long description"),
        pytest.param({"description": "Fence", "property_id": "x"}, "property_id", id="property not a number"),
        pytest.param({"description": "Fence", "photos": [photo("a.jpg", SCRIPT_BYTES)]}, "photos", id="script"),
        pytest.param({"description": "Fence", "photos": [photo() for _ in range(6)]}, "photos", id="six photos"),
    ],
)
def test_bad_input_is_400_naming_the_field(tenant_a, data, field):
    link = make_link(tenant_a)

    body = assert_refused(post_json_route(link, data), 400)

    assert body["errors"][0]["field"] == field
    with tenant_a.schema():
        assert not WorkRequest.objects.exists()


@override_settings(ATTACHMENT_MAX_BYTES=100)
def test_a_photo_over_the_limit_is_400(tenant_a):
    link = make_link(tenant_a)

    body = assert_refused(post_json_route(link, {"description": "Fence", "photos": [photo()]}), 400)

    assert body["errors"][0]["code"] == "file_too_large"


def test_another_customers_address_or_request_is_out_of_reach(tenant_a):
    mine, other = make_link(tenant_a), make_link(tenant_a)
    with tenant_a.schema():
        their_place = PropertyFactory(customer=other.customer)
    theirs = post_json_route(other, {"description": "Roof"}).json()

    assert_refused(post_json_route(mine, {"description": "Roof", "property_id": str(their_place.pk)}), 400)
    assert_refused(mine.api().get(mine.json_path(f"/work-requests/{theirs['id']}")), 404)
    assert page(f"{mine.path}/work-requests/{theirs['id']}", host=mine.host).status_code == 404
    assert mine.api().get(mine.json_path("/work-requests")).json() == []


def test_another_business_host_refuses_the_link(tenant_a, tenant_b):
    link = make_link(tenant_a)

    answer = page(
        f"{API}{link.json_path('/work-requests')}", host=tenant_b.host, method="POST", data={"description": "x"}
    )

    assert_refused(answer, 404)
    assert page(f"{link.path}/work-request", host=tenant_b.host).status_code == 404


@override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "work_request_customer": (1, 60)})
def test_rate_limited_per_customer(tenant_a):
    link = make_link(tenant_a)

    first = post_json_route(link, {"description": "Fence"})
    second = post_json_route(link, {"description": "Fence again"})

    assert first.status_code == 201
    assert_refused(second, 429)
    assert int(second["Retry-After"]) >= 1


def test_the_page_form_sends_a_request_with_a_photo(tenant_a):
    link = make_link(tenant_a)
    form = page(f"{link.path}/work-request", host=link.host)

    sent = page(
        f"{link.path}/work-request",
        host=link.host,
        method="POST",
        data={"description": "Gutter", "place": "new", "address": "3 Mill Lane", "photos": [photo()]},
    )
    shown = page(sent["Location"], host=link.host).content.decode()

    assert 'enctype="multipart/form-data"' in form.content.decode()
    assert sent.status_code == 303
    assert "3 Mill Lane" in shown
    assert "Gutter" in page(link.path, host=link.host).content.decode()


def test_the_page_form_shows_what_to_fix(tenant_a):
    link = make_link(tenant_a)

    answer = page(f"{link.path}/work-request", host=link.host, method="POST", data={"description": " "})

    assert answer.status_code == 400
    assert 'role="alert"' in answer.content.decode()


def test_query_counts(tenant_a):
    link = make_link(tenant_a)
    client = link.api()
    created = post_json_route(link, {"description": "Fence"}).json()

    count("GET /portal/{id}/work-requests", client, "GET", link.json_path("/work-requests"))
    count("GET /portal/{id}/work-requests/{id}", client, "GET", link.json_path(f"/work-requests/{created['id']}"))
    client.get(link.json_path("/work-requests"))
    with CaptureQueriesContext(connection) as captured:
        answer = post_json_route(link, {"description": "Gate", "photos": [photo()]})
    assert answer.status_code == 201
    assert_query_count("POST /portal/{id}/work-requests", counted(captured))
