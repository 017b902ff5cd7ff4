"""Booking from a customer's link: the public JSON routes and the pages, as a front end and a
browser send them through every middleware. A link books for its own customer only, in its
own business; limits per customer and per IP; bad input is a 4xx."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from tenant_apps.bookings.models import BookingRequest
from tenant_apps.portal import services as portal_services
from tenant_apps.portal.models import CustomerLink
from tests.api.test_query_baselines import count
from tests.events import emitted
from tests.factories import PriceBookItemFactory, PropertyFactory
from tests.isolation import assert_refused
from tests.portal import make_link, page

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@pytest.fixture
def service(tenant_a):
    """A bookable service of tenant A, open 08:00-18:00 every day."""
    tenant_a.store_settings(business_hours={day: [["08:00", "18:00"]] for day in ALL_DAYS})
    with tenant_a.schema():
        return PriceBookItemFactory(name="Boiler service", duration_minutes=60)


def day_after_tomorrow(tenant_a) -> str:
    return (tenant_a.tenant.local_date(timezone.now()) + timedelta(days=2)).isoformat()


def test_a_customer_books_a_free_slot(tenant_a, service):
    link = make_link(tenant_a)
    client = link.api()

    options = client.get(link.json_path("/booking")).json()
    slots = client.get(link.json_path("/booking/slots"), service_id=service.pk, date=day_after_tomorrow(tenant_a))
    starts_at = slots.json()["slots"][0]["starts_at"]
    booked = client.post(link.json_path("/booking-requests"), {"service_id": service.pk, "starts_at": starts_at})
    again = client.post(link.json_path("/booking-requests"), {"service_id": service.pk, "starts_at": starts_at})

    assert [item["name"] for item in options["services"]] == ["Boiler service"]
    assert options["confirm_first"] is False
    assert "staff_ids" not in slots.json()["slots"][0]
    assert booked.status_code == 201, booked.content
    assert booked.json()["status"] == "ACCEPTED"
    assert (again.status_code, again.json()["id"]) == (200, booked.json()["id"])
    with tenant_a.schema():
        booking = BookingRequest.objects.get()
        assert booking.customer_id == link.customer.pk
        assert booking.appointment.customer_id == link.customer.pk
        assert [event.actor for event in emitted("booking.requested")] == [f"customer:{link.customer.pk}"]
    listed = client.get(link.json_path("/booking-requests")).json()
    assert [item["id"] for item in listed] == [booked.json()["id"]]


def test_confirm_first_leaves_it_pending(tenant_a, service):
    tenant_a.store_settings(online_booking_confirm_first=True)
    link = make_link(tenant_a)
    starts_at = (
        link.api()
        .get(link.json_path("/booking/slots"), service_id=service.pk, date=day_after_tomorrow(tenant_a))
        .json()["slots"][0]["starts_at"]
    )

    booked = link.api().post(link.json_path("/booking-requests"), {"service_id": service.pk, "starts_at": starts_at})

    assert (booked.status_code, booked.json()["status"]) == (201, "PENDING")


class TestIsolation:
    def test_a_link_reads_only_its_own_customers_bookings(self, tenant_a, service):
        mine, other = make_link(tenant_a), make_link(tenant_a)
        starts_at = (
            mine.api()
            .get(mine.json_path("/booking/slots"), service_id=service.pk, date=day_after_tomorrow(tenant_a))
            .json()["slots"][0]["starts_at"]
        )
        theirs = other.api().post(
            other.json_path("/booking-requests"), {"service_id": service.pk, "starts_at": starts_at}
        )

        assert_refused(mine.api().get(mine.json_path(f"/booking-requests/{theirs.json()['id']}")), 404)
        assert mine.api().get(mine.json_path("/booking-requests")).json() == []
        assert page(f"{mine.path}/bookings/{theirs.json()['id']}", host=mine.host).status_code == 404

    def test_a_link_cannot_book_at_another_customers_address(self, tenant_a, service):
        link = make_link(tenant_a)
        with tenant_a.schema():
            elsewhere = PropertyFactory().pk
        starts_at = (
            link.api()
            .get(link.json_path("/booking/slots"), service_id=service.pk, date=day_after_tomorrow(tenant_a))
            .json()["slots"][0]["starts_at"]
        )

        body = {"service_id": service.pk, "starts_at": starts_at, "property_id": elsewhere}
        assert_refused(link.api().post(link.json_path("/booking-requests"), body), 400)

    def test_another_business_neither_sees_nor_books(self, tenant_a, tenant_b, service):
        link = make_link(tenant_a)
        other_host = link.api(host=tenant_b.host)

        assert_refused(other_host.get(link.json_path("/booking")), 404)
        assert_refused(other_host.post(link.json_path("/booking-requests"), {"service_id": service.pk}), 400, 404)
        assert page(f"{link.path}/book", host=tenant_b.host).status_code == 404
        # And tenant B's link does not reach tenant A's service.
        theirs = make_link(tenant_b)
        assert_refused(
            theirs.api().get(theirs.json_path("/booking/slots"), service_id=service.pk, date="2031-01-01"), 400, 404
        )

    @pytest.mark.parametrize("how", ["revoked", "expired", "edited"])
    def test_a_dead_link_books_nothing(self, tenant_a, service, how):
        link = make_link(tenant_a)
        token = link.token
        if how == "revoked":
            with tenant_a.schema():
                portal_services.revoke_customer_link(link_id=link.link_id)
        elif how == "expired":
            with tenant_a.schema():
                CustomerLink.objects.filter(pk=link.link_id).update(expires_at=timezone.now() - timedelta(seconds=1))
        else:
            token = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        body = {"service_id": service.pk, "starts_at": "2031-01-01T10:00:00Z"}

        answer = link.api().post(f"/portal/{token}/booking-requests", body)

        assert_refused(answer, 404 if how == "edited" else 410)
        with tenant_a.schema():
            assert not BookingRequest.objects.exists()


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param({"service_id": None, "date": "2031-01-01"}, 400, id="no service"),
        pytest.param({"service_id": 999999, "date": "2031-01-01"}, 404, id="unknown service"),
        pytest.param({"service_id": "x", "date": "2031-01-01"}, 400, id="service not a number"),
        pytest.param({"date": "tomorrow"}, 400, id="date not a date"),
        pytest.param({"date": "9999-01-01"}, 400, id="far beyond the window"),
    ],
)
def test_bad_slot_queries_are_4xx(tenant_a, service, query, status):
    link = make_link(tenant_a)
    sent = {name: value for name, value in {"service_id": service.pk, **query}.items() if value is not None}

    assert_refused(link.api().get(link.json_path("/booking/slots"), **sent), status)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({"starts_at": "2031-01-01T10:00:00"}, 400, id="naive time"),
        pytest.param({"starts_at": "soon"}, 400, id="not a time"),
        pytest.param({"starts_at": "2031-01-01T10:00:00Z", "service_id": 999999}, 404, id="unknown service"),
        pytest.param({"starts_at": "2099-01-01T10:00:00Z"}, 400, id="beyond the window"),
        pytest.param({"starts_at": "2031-01-01T10:00:00Z", "notes": "x" * 2001}, 400, id="notes too long"),
        pytest.param({"starts_at": "2031-01-01T10:00:00Z", "staff_id": 1}, 400, id="unknown field"),
    ],
)
def test_bad_bookings_are_4xx(tenant_a, service, body, status):
    link = make_link(tenant_a)

    answer = link.api().post(link.json_path("/booking-requests"), {"service_id": service.pk, **body})

    assert_refused(answer, status)


def test_a_time_that_is_not_free_is_409(tenant_a, service):
    link = make_link(tenant_a)
    night = f"{day_after_tomorrow(tenant_a)}T03:00:00Z"

    body = assert_refused(
        link.api().post(link.json_path("/booking-requests"), {"service_id": service.pk, "starts_at": night}), 409
    )

    assert body["errors"][0]["code"] == "slot_taken"


class TestRateLimits:
    @override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "booking_customer": (2, 60)})
    def test_per_customer(self, tenant_a, service):
        link = make_link(tenant_a)
        body = {"service_id": service.pk, "starts_at": f"{day_after_tomorrow(tenant_a)}T03:00:00Z"}

        answers = [link.api().post(link.json_path("/booking-requests"), body) for _ in range(3)]
        other = make_link(tenant_a)
        others_answer = other.api().post(other.json_path("/booking-requests"), body)

        assert [answer.status_code for answer in answers] == [409, 409, 429]
        refused = assert_refused(answers[-1], 429)
        assert 1 <= int(answers[-1]["Retry-After"]) <= 60
        assert refused["errors"][0]["retry_after"] == int(answers[-1]["Retry-After"])
        assert others_answer.status_code == 409

    @override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "booking_ip": (2, 60)})
    def test_per_ip_across_customers(self, tenant_a, service):
        body = {"service_id": service.pk, "starts_at": f"{day_after_tomorrow(tenant_a)}T03:00:00Z"}
        links = [make_link(tenant_a) for _ in range(3)]

        answers = [link.api().post(link.json_path("/booking-requests"), body) for link in links]
        elsewhere = links[0].api().from_address("10.9.8.7").post(links[0].json_path("/booking-requests"), body)

        assert [answer.status_code for answer in answers] == [409, 409, 429]
        assert elsewhere.status_code == 409

    @override_settings(RATE_LIMITS={**settings.RATE_LIMITS, "booking_customer": (1, 60)})
    def test_the_page_says_so_too(self, tenant_a, service):
        link = make_link(tenant_a)
        form = {"starts_at": f"{day_after_tomorrow(tenant_a)}T03:00:00+00:00"}

        first = page(f"{link.path}/book/{service.pk}", host=link.host, method="POST", data=form)
        second = page(f"{link.path}/book/{service.pk}", host=link.host, method="POST", data=form)

        assert first.status_code == 409
        assert second.status_code == 429
        assert int(second["Retry-After"]) >= 1


class TestPages:
    def test_the_hub_offers_booking_and_work(self, tenant_a, service):
        link = make_link(tenant_a)

        hub = page(link.path, host=link.host).content.decode()

        assert f"{link.path}/book" in hub
        assert f"{link.path}/work-request" in hub

    def test_book_a_slot_without_javascript(self, tenant_a, service):
        link = make_link(tenant_a)
        services_page = page(f"{link.path}/book", host=link.host)
        day = day_after_tomorrow(tenant_a)
        day_page = page(f"{link.path}/book/{service.pk}", host=link.host, data={"date": day})
        html = day_page.content.decode()
        starts_at = html.split('name="starts_at" id="slot-1" value="', 1)[1].split('"', 1)[0]

        booked = page(
            f"{link.path}/book/{service.pk}",
            host=link.host,
            method="POST",
            data={"starts_at": starts_at, "notes": "Gate code 12"},
        )
        shown = page(booked["Location"], host=link.host)

        assert "Boiler service" in services_page.content.decode()
        assert day_page["Content-Security-Policy"].startswith("default-src 'none'")
        assert booked.status_code == 303
        assert "You are booked for" in shown.content.decode()
        hub = page(link.path, host=link.host).content.decode()
        assert "Your requests" in hub

    def test_a_taken_slot_shows_the_day_again_with_409(self, tenant_a, service):
        link = make_link(tenant_a)
        night = f"{day_after_tomorrow(tenant_a)}T03:00:00+00:00"

        answer = page(f"{link.path}/book/{service.pk}", host=link.host, method="POST", data={"starts_at": night})

        assert answer.status_code == 409
        assert 'role="alert"' in answer.content.decode()
        assert 'name="starts_at"' in answer.content.decode()

    @pytest.mark.parametrize(
        ("path", "data", "status"),
        [
            pytest.param("/book/{service}", {"date": "someday"}, 400, id="bad date"),
            pytest.param("/book/999999", {}, 404, id="unknown service"),
            pytest.param("/book/99999999999999999999", {}, 404, id="id beyond bigint"),
            pytest.param("/bookings/99999999999999999999", {}, 404, id="booking id beyond bigint"),
        ],
    )
    def test_bad_page_requests_are_4xx(self, tenant_a, service, path, data, status):
        link = make_link(tenant_a)

        answer = page(f"{link.path}{path.format(service=service.pk)}", host=link.host, data=data)

        assert answer.status_code == status

    def test_a_post_without_a_time_is_400(self, tenant_a, service):
        link = make_link(tenant_a)

        answer = page(f"{link.path}/book/{service.pk}", host=link.host, method="POST", data={"starts_at": "x"})

        assert answer.status_code == 400


def test_query_counts(tenant_a, service):
    link = make_link(tenant_a)
    client = link.api()
    date = day_after_tomorrow(tenant_a)
    with tenant_a.schema():
        PropertyFactory(customer=link.customer)

    count("GET /portal/{id}/booking", client, "GET", link.json_path("/booking"))
    slots = count(
        "GET /portal/{id}/booking/slots",
        client,
        "GET",
        link.json_path("/booking/slots"),
        service_id=service.pk,
        date=date,
    )
    count("GET /portal/{id}/properties", client, "GET", link.json_path("/properties"))
    body = {"service_id": service.pk, "starts_at": slots.json()["slots"][0]["starts_at"]}
    booked = count("POST /portal/{id}/booking-requests", client, "POST", link.json_path("/booking-requests"), body)
    count("GET /portal/{id}/booking-requests", client, "GET", link.json_path("/booking-requests"))
    count(
        "GET /portal/{id}/booking-requests/{id}",
        client,
        "GET",
        link.json_path(f"/booking-requests/{booked.json()['id']}"),
    )
