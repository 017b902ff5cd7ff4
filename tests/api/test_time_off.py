from datetime import datetime, timedelta

from tenant_apps.appointments import time_off
from tests.api.generic import CreateTests, DeleteTests, GetTests, ListTests, VersionedUpdateTests
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused
from tests.tenant_apps.voice.conftest import local, next_business_day


def period(test_tenant, *, start: int = 9, end: int = 12, weeks_ahead: int = 1) -> dict[str, str]:
    zone = test_tenant.tenant.zone
    day = next_business_day(zone, weeks_ahead=weeks_ahead)
    return {"starts_at": local(day, start, zone).isoformat(), "ends_at": local(day, end, zone).isoformat()}


def make_time_off(test_tenant, *, staff_id: int, weeks_ahead: int = 1) -> int:
    zone = test_tenant.tenant.zone
    day = next_business_day(zone, weeks_ahead=weeks_ahead)
    with test_tenant.schema():
        return time_off.create_time_off(
            tenant=test_tenant.tenant,
            actor_user_id=test_tenant.owner.pk,
            actor_role="owner",
            staff_id=staff_id,
            starts_at=local(day, 9, zone),
            ends_at=local(day, 12, zone),
        ).pk


class TestTimeOffAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    path = "/time-off"
    routes = [Route("GET", "/time-off"), Route("POST", "/time-off", {"starts_at": "x", "ends_at": "y"})]
    object_routes = [
        Route("GET", "/time-off/{id}"),
        Route("PATCH", "/time-off/{id}", {"reason": "Changed", "version": 1}),
        Route("DELETE", "/time-off/{id}"),
    ]
    create_expected = {"reason": "Dentist", "version": 1}
    create_fields = {"id", "staff_id", "starts_at", "ends_at", "created_at", "updated_at"}
    invalid_create = [({"reason": "x" * 201}, "reason"), ({"ends_at": "not a time"}, "ends_at")]
    update_data = {"reason": "Dentist, then physio", "version": 1}
    update_expected = {"reason": "Dentist, then physio"}

    def create_data(self, owner):
        return {**period(owner), "reason": " Dentist "}

    def make_object(self, owner):
        made = getattr(self, "_made", 0) + 1
        self._made = made
        return make_time_off(owner, staff_id=owner.staff.pk, weeks_ahead=made)

    def make_objects(self, owner, count):
        return [make_time_off(owner, staff_id=owner.staff.pk, weeks_ahead=week) for week in range(1, count + 1)]


def test_time_off_over_appointments_is_409_listing_them(tenant_a):
    times = period(tenant_a)
    with tenant_a.schema():
        customer = CustomerFactory().pk
    booked = tenant_a.api().post(
        "/appointments",
        {
            "customer_id": customer,
            "staff_id": tenant_a.staff.pk,
            "title": "Visit",
            **period(tenant_a, start=10, end=11),
        },
    )

    refused = assert_refused(tenant_a.api().post("/time-off", {**times, "staff_id": tenant_a.staff.pk}), 409)

    assert refused["errors"] == [{"code": "appointments_in_period", "conflicting_appointment_id": booked.json()["id"]}]


def test_a_booking_in_time_off_is_409_naming_it(tenant_a):
    created = tenant_a.api().post("/time-off", {**period(tenant_a), "staff_id": tenant_a.staff.pk}).json()
    with tenant_a.schema():
        customer = CustomerFactory().pk

    refused = assert_refused(
        tenant_a.api().post(
            "/appointments",
            {
                "customer_id": customer,
                "staff_id": tenant_a.staff.pk,
                "title": "X",
                **period(tenant_a, start=10, end=11),
            },
        ),
        409,
    )

    assert refused["errors"] == [{"code": "time_off", "time_off_id": created["id"]}]


def test_staff_manage_only_their_own_time_off_and_see_only_it(tenant_a):
    staff_api = tenant_a.api(as_staff=True)
    owners = make_time_off(tenant_a, staff_id=tenant_a.owner.pk, weeks_ahead=2)

    own = staff_api.post("/time-off", period(tenant_a, weeks_ahead=3))
    for_owner = staff_api.post("/time-off", {**period(tenant_a, weeks_ahead=4), "staff_id": tenant_a.owner.pk})

    assert own.status_code == 201, own.content
    assert own.json()["staff_id"] == tenant_a.staff.pk
    assert_refused(for_owner, 403)
    assert [row["id"] for row in staff_api.get("/time-off").json()["items"]] == [own.json()["id"]]
    assert_refused(staff_api.get(f"/time-off/{owners}"), 404)
    assert_refused(staff_api.patch(f"/time-off/{owners}", {"version": 1, "reason": "x"}), 404)
    assert_refused(staff_api.delete(f"/time-off/{owners}"), 404)
    # Owners see and manage everyone's.
    assert {row["id"] for row in tenant_a.api().get("/time-off").json()["items"]} == {owners, own.json()["id"]}


def test_time_off_for_a_stranger_is_404(tenant_a, tenant_b):
    assert_refused(tenant_a.api().post("/time-off", {**period(tenant_a), "staff_id": tenant_b.staff.pk}), 404)


def closed_day(test_tenant, *, weeks_ahead: int = 1):
    return next_business_day(test_tenant.tenant.zone, weeks_ahead=weeks_ahead)


def make_closed_day(test_tenant, *, weeks_ahead: int) -> int:
    with test_tenant.schema():
        return time_off.create_closed_day(
            tenant=test_tenant.tenant,
            actor_user_id=test_tenant.owner.pk,
            starts_on=closed_day(test_tenant, weeks_ahead=weeks_ahead),
        ).pk


class TestClosedDayAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests, DeleteTests):
    path = "/closed-days"
    routes = [Route("GET", "/closed-days"), Route("POST", "/closed-days", {"starts_on": "2030-01-01"})]
    object_routes = [
        Route("GET", "/closed-days/{id}"),
        Route("PATCH", "/closed-days/{id}", {"reason": "Changed", "version": 1}),
        Route("DELETE", "/closed-days/{id}"),
    ]
    create_expected = {"reason": "Founders' day", "version": 1}
    create_fields = {"id", "starts_on", "ends_on", "starts_at", "ends_at", "created_at", "updated_at"}
    invalid_create = [({"starts_on": "not a date"}, "starts_on"), ({"reason": "x" * 201}, "reason")]
    update_data = {"reason": "Stocktaking", "version": 1}
    update_expected = {"reason": "Stocktaking"}

    def create_data(self, owner):
        return {"starts_on": closed_day(owner).isoformat(), "reason": "Founders' day"}

    def make_object(self, owner):
        made = getattr(self, "_made", 0) + 1
        self._made = made
        return make_closed_day(owner, weeks_ahead=made)

    def make_objects(self, owner, count):
        return [make_closed_day(owner, weeks_ahead=week) for week in range(1, count + 1)]


def test_a_closed_range_is_the_local_days_in_the_business_zone(tenant_a):
    first = closed_day(tenant_a)
    last = first + timedelta(days=2)

    created = tenant_a.api().post("/closed-days", {"starts_on": first.isoformat(), "ends_on": last.isoformat()})

    body = created.json()
    zone = tenant_a.tenant.zone
    assert created.status_code == 201, created.content
    assert (body["starts_on"], body["ends_on"]) == (first.isoformat(), last.isoformat())
    assert datetime.fromisoformat(body["starts_at"]) == local(first, 0, zone)
    assert datetime.fromisoformat(body["ends_at"]) == local(last + timedelta(days=1), 0, zone)


def test_only_owners_and_admins_manage_closed_days_every_member_reads_them(tenant_a):
    made = make_closed_day(tenant_a, weeks_ahead=2)
    staff_api = tenant_a.api(as_staff=True)

    assert_refused(staff_api.post("/closed-days", {"starts_on": closed_day(tenant_a).isoformat()}), 403)
    assert_refused(staff_api.patch(f"/closed-days/{made}", {"version": 1, "reason": "x"}), 403)
    assert_refused(staff_api.delete(f"/closed-days/{made}"), 403)
    assert [row["id"] for row in staff_api.get("/closed-days").json()["items"]] == [made]
    assert staff_api.get(f"/closed-days/{made}").status_code == 200


def test_a_closure_ending_before_it_starts_is_400(tenant_a):
    first = closed_day(tenant_a)

    refused = assert_refused(
        tenant_a.api().post(
            "/closed-days", {"starts_on": first.isoformat(), "ends_on": (first - timedelta(days=1)).isoformat()}
        ),
        400,
    )

    assert refused["errors"][0]["field"] == "ends_on"
