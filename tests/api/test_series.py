from datetime import datetime, timedelta

from icalendar import Calendar

from tenant_apps.appointments import series as series_services
from tests.api.generic import CreateTests, GetTests, ListTests
from tests.api.test_calendar_feed import fetch, new_feed
from tests.factories import CustomerFactory, PropertyFactory
from tests.isolation import Route, assert_refused
from tests.tenant_apps.voice.conftest import local, next_business_day


def first_visit(test_tenant, *, weeks_ahead: int = 1):
    zone = test_tenant.tenant.zone
    return local(next_business_day(zone, weeks_ahead=weeks_ahead), 9, zone)


def series_body(test_tenant, **extra):
    with test_tenant.schema():
        customer_id = CustomerFactory().pk
    return {
        "customer_id": customer_id,
        "staff_id": test_tenant.staff.pk,
        "title": "Pool cleaning",
        "starts_at": first_visit(test_tenant).isoformat(),
        "duration_minutes": 60,
        "rrule": "FREQ=WEEKLY;COUNT=4",
        **extra,
    }


def make_series(test_tenant, *, weeks_ahead: int = 1, count: int = 2) -> int:
    with test_tenant.schema():
        return series_services.create_series(
            tenant=test_tenant.tenant,
            customer_id=CustomerFactory().pk,
            title="Window cleaning",
            starts_at=first_visit(test_tenant, weeks_ahead=weeks_ahead),
            duration_minutes=30,
            rrule=f"FREQ=MONTHLY;COUNT={count}",
        ).pk


class TestSeriesAPI(ListTests, GetTests, CreateTests):
    path = "/appointment-series"
    routes = [
        Route("GET", "/appointment-series"),
        Route("POST", "/appointment-series", {"customer_id": 1, "title": "X", "rrule": "FREQ=DAILY"}),
    ]
    object_routes = [
        Route("GET", "/appointment-series/{id}"),
        Route("PATCH", "/appointment-series/{id}", {"version": 1, "scope": "all", "title": "Changed"}),
        Route("DELETE", "/appointment-series/{id}?version=1"),
        Route("GET", "/appointment-series/{id}/occurrences"),
    ]
    create_expected = {"title": "Pool cleaning", "rrule": "FREQ=WEEKLY;COUNT=4", "status": "ACTIVE", "version": 1}
    create_fields = {"id", "starts_on", "local_start", "materialised_until", "customer_id", "staff_id"}
    invalid_create = [({"rrule": "FREQ=HOURLY"}, "rrule"), ({"duration_minutes": 0}, "duration_minutes")]

    def create_data(self, owner):
        return series_body(owner)

    def make_object(self, owner):
        return make_series(owner)

    def make_objects(self, owner, count):
        return [make_series(owner, weeks_ahead=week, count=1) for week in range(1, count + 1)]


def test_occurrences_list_each_visit_with_its_appointment_or_its_conflict(tenant_a):
    clash_at = first_visit(tenant_a) + timedelta(weeks=1)
    with tenant_a.schema():
        customer = CustomerFactory().pk
    other = tenant_a.api().post(
        "/appointments",
        {
            "customer_id": customer,
            "staff_id": tenant_a.staff.pk,
            "title": "Other job",
            "starts_at": clash_at.isoformat(),
            "ends_at": (clash_at + timedelta(hours=1)).isoformat(),
        },
    )
    created = tenant_a.api().post("/appointment-series", series_body(tenant_a)).json()

    occurrences = tenant_a.api().get(f"/appointment-series/{created['id']}/occurrences").json()["items"]
    conflicts = tenant_a.api().get(f"/appointment-series/{created['id']}/occurrences", status="CONFLICT").json()

    assert [row["status"] for row in occurrences] == ["BOOKED", "CONFLICT", "BOOKED", "BOOKED"]
    assert occurrences[1]["appointment_id"] is None
    assert occurrences[1]["conflict"]["code"] == "double_booking"
    assert occurrences[1]["conflict"]["details"][0]["conflicting_appointment_id"] == other.json()["id"]
    assert datetime.fromisoformat(occurrences[0]["starts_at"]) == first_visit(tenant_a)
    assert occurrences[0]["appointment_status"] == "SCHEDULED"
    assert conflicts["count"] == 1


def test_patch_following_answers_the_new_series_and_delete_ends_it(tenant_a):
    created = tenant_a.api().post("/appointment-series", series_body(tenant_a)).json()
    second_day = (first_visit(tenant_a) + timedelta(weeks=1)).date().isoformat()

    split = tenant_a.api().patch(
        f"/appointment-series/{created['id']}",
        {"version": 1, "scope": "following", "from_date": second_day, "local_start": "15:30"},
    )
    stale = tenant_a.api().patch(f"/appointment-series/{created['id']}", {"version": 1, "scope": "all", "title": "X"})
    ended = tenant_a.api().delete(f"/appointment-series/{split.json()['id']}?version=1")
    occurrences = tenant_a.api().get(f"/appointment-series/{split.json()['id']}/occurrences").json()["items"]

    assert split.status_code == 200, split.content
    assert (split.json()["split_from_id"], split.json()["local_start"], split.json()["rrule"]) == (
        created["id"],
        "15:30:00",
        "FREQ=WEEKLY;COUNT=3",
    )
    assert_refused(stale, 409)
    assert ended.json()["status"] == "ENDED"
    assert {row["appointment_status"] for row in occurrences} == {"CANCELLED"}


def test_a_bad_scope_or_a_missing_day_is_400(tenant_a):
    created = tenant_a.api().post("/appointment-series", series_body(tenant_a)).json()
    url = f"/appointment-series/{created['id']}"

    assert_refused(tenant_a.api().patch(url, {"version": 1, "scope": "this", "title": "X"}), 400)
    refused = assert_refused(tenant_a.api().patch(url, {"version": 1, "scope": "following", "title": "X"}), 400)

    assert refused["errors"][0]["field"] == "from_date"


def test_the_calendar_feed_carries_each_visit_naming_its_series(tenant_a):
    created = tenant_a.api().post("/appointment-series", series_body(tenant_a)).json()
    occurrences = tenant_a.api().get(f"/appointment-series/{created['id']}/occurrences").json()["items"]
    feed = new_feed(tenant_a)

    calendar = Calendar.from_ical(fetch(tenant_a.host, feed["token"]).content)

    visits = {
        str(event["uid"]): event
        for event in calendar.walk("VEVENT")
        if str(event.get("related-to")) == f"series-{created['id']}@{tenant_a.host}"
    }
    zone = tenant_a.tenant.zone
    assert sorted(visits) == sorted(f"appointment-{row['appointment_id']}@{tenant_a.host}" for row in occurrences)
    assert {event.decoded("dtstart").astimezone(zone).hour for event in visits.values()} == {9}
    assert {event.get("rrule") for event in visits.values()} == {None}


def test_every_visit_of_a_series_is_at_its_property_and_a_stranger_property_is_400(tenant_a):
    with tenant_a.schema():
        place = PropertyFactory()
        other_place = PropertyFactory(customer=place.customer)
        strangers = PropertyFactory()
    body = {**series_body(tenant_a), "customer_id": place.customer_id, "property_id": place.pk}

    created = tenant_a.api().post("/appointment-series", body)
    refused = tenant_a.api().post("/appointment-series", {**body, "property_id": strangers.pk})
    moved = tenant_a.api().patch(
        f"/appointment-series/{created.json()['id']}", {"version": 1, "scope": "all", "property_id": other_place.pk}
    )
    visits = [
        tenant_a.api().get(f"/appointments/{row['appointment_id']}").json()
        for row in tenant_a.api().get(f"/appointment-series/{created.json()['id']}/occurrences").json()["items"]
    ]

    assert created.status_code == 201, created.content
    assert created.json()["property_id"] == place.pk
    assert assert_refused(refused, 400)["errors"][0]["field"] == "property_id"
    assert moved.json()["property_id"] == other_place.pk
    assert [visit["property_id"] for visit in visits] == [other_place.pk] * 4
