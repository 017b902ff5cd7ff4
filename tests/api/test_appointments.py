from datetime import UTC, date, datetime, timedelta

from tests.api.generic import CreateTests, GetTests, ListTests, VersionedUpdateTests
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused


def _first_monday_of_june_next_year() -> date:
    """Ahead of the clock whatever day the suite runs, in summer time (New York: -04:00)."""
    june = date(datetime.now(UTC).year + 1, 6, 1)
    return june + timedelta(days=-june.weekday() % 7)


DAY = _first_monday_of_june_next_year().isoformat()
NEXT_DAY = (_first_monday_of_june_next_year() + timedelta(days=1)).isoformat()
NINE = f"{DAY}T09:00:00-04:00"  # a Monday in New York
TEN = f"{DAY}T10:00:00-04:00"
TEN_15 = f"{DAY}T10:15:00-04:00"
TEN_30 = f"{DAY}T10:30:00-04:00"
ELEVEN = f"{DAY}T11:00:00-04:00"


def customer_id(tenant):
    with tenant.schema():
        return CustomerFactory().pk


def book(tenant, starts_at=NINE, ends_at=TEN, *, staff=True, customer=None, **extra):
    body = {
        "customer_id": customer or customer_id(tenant),
        "staff_id": tenant.staff.pk if staff else None,
        "title": "Boiler service",
        "starts_at": starts_at,
        "ends_at": ends_at,
        **extra,
    }
    return tenant.api().post("/appointments", body)


class TestAppointmentAPI(ListTests, GetTests, CreateTests, VersionedUpdateTests):
    path = "/appointments"
    routes = [
        Route("GET", "/appointments"),
        Route("POST", "/appointments", {"customer_id": 1, "title": "X", "starts_at": NINE, "ends_at": TEN}),
        Route("GET", f"/appointments/availability?date={DAY}&duration_minutes=60"),
        Route("POST", "/appointments/calendar-feeds", {}),
    ]
    object_routes = [
        Route("GET", "/appointments/{id}"),
        Route("PATCH", "/appointments/{id}", {"version": 1, "title": "Changed"}),
        Route("DELETE", "/appointments/{id}"),
        Route("POST", "/appointments/{id}/transition", {"status": "CONFIRMED"}),
    ]

    create_expected = {
        "status": "SCHEDULED",
        "version": 1,
        "notes": "Side gate",
        "starts_at": f"{DAY}T13:00:00Z",
        "ends_at": f"{DAY}T14:00:00Z",
    }
    invalid_create = [
        ({"starts_at": TEN, "ends_at": NINE}, "ends_at"),
        ({"starts_at": f"{DAY}T09:00:00"}, "starts_at"),
        ({"ends_at": f"{NEXT_DAY}T09:00:00-04:00"}, "ends_at"),
    ]
    update_data = {"version": 1, "starts_at": TEN, "ends_at": ELEVEN}
    update_expected = {"starts_at": f"{DAY}T14:00:00Z", "ends_at": f"{DAY}T15:00:00Z"}

    def create_data(self, owner):
        return {
            "customer_id": customer_id(owner),
            "staff_id": owner.staff.pk,
            "title": "Boiler service",
            "starts_at": NINE,
            "ends_at": TEN,
            "notes": "Side gate",
        }

    def make_object(self, owner):
        return book(owner).json()["id"]

    def make_objects(self, owner, count):
        # Unassigned appointments never clash, so any number fit one morning.
        customer = customer_id(owner)
        return [book(owner, customer=customer, staff=False).json()["id"] for _ in range(count)]


def test_create_answers_the_customer_and_staff(tenant_a):
    customer = customer_id(tenant_a)

    response = book(tenant_a, customer=customer)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer_id"] == customer
    assert body["staff_id"] == tenant_a.staff.pk


def test_overlap_for_same_staff_is_409_naming_the_clash(tenant_a):
    first = book(tenant_a).json()

    response = book(tenant_a, f"{DAY}T09:30:00-04:00", TEN_30)

    body = assert_refused(response, 409)
    assert body["errors"] == [
        {"code": "double_booking", "conflicting_appointment_id": first["id"], "staff_id": tenant_a.staff.pk}
    ]


def test_back_to_back_is_allowed_without_buffer(tenant_a):
    book(tenant_a)

    assert book(tenant_a, TEN, ELEVEN).status_code == 201


def test_other_staff_and_unassigned_never_clash(tenant_a):
    book(tenant_a)

    assert book(tenant_a, staff_id=tenant_a.owner.pk).status_code == 201
    assert book(tenant_a, staff=False).status_code == 201
    assert book(tenant_a, staff=False).status_code == 201


def test_buffer_is_the_minimum_gap_between_appointments(tenant_a):
    tenant_a.api().patch("/tenants/me", {"appointment_buffer_minutes": 30})
    first = book(tenant_a).json()

    too_close = book(tenant_a, TEN_15, ELEVEN)
    far_enough = book(tenant_a, TEN_30, ELEVEN)

    assert assert_refused(too_close, 409)["errors"][0]["conflicting_appointment_id"] == first["id"]
    assert far_enough.status_code == 201


def test_cancelled_appointment_frees_the_time(tenant_a):
    first = book(tenant_a).json()
    tenant_a.api().delete(f"/appointments/{first['id']}")

    assert book(tenant_a).status_code == 201


def test_staff_of_another_tenant_is_404(tenant_a, tenant_b):
    body = assert_refused(book(tenant_a, staff_id=tenant_b.staff.pk), 404)

    assert body["errors"][0]["field"] == "staff_id"


def test_customer_of_another_tenant_is_404(tenant_a, tenant_b):
    with tenant_b.schema():
        foreign_customer = CustomerFactory().pk

    assert assert_refused(book(tenant_a, customer=foreign_customer), 404)["errors"][0]["field"] == "customer_id"
    assert assert_refused(book(tenant_a, customer=999999), 404)["errors"][0]["field"] == "customer_id"


def test_archived_customer_is_400(tenant_a):
    archived = book(tenant_a).json()["customer_id"]
    tenant_a.api().delete(f"/customers/{archived}")

    assert assert_refused(book(tenant_a, TEN, ELEVEN, customer=archived), 400)["errors"][0]["field"] == "customer_id"


def test_customer_with_appointments_is_archived_not_deleted(tenant_a):
    customer = book(tenant_a).json()["customer_id"]

    assert tenant_a.api().delete(f"/customers/{customer}").status_code == 204

    body = tenant_a.api().get(f"/customers/{customer}").json()
    assert body["archived_at"] is not None
    assert tenant_a.api().get("/customers").json()["count"] == 0
    assert tenant_a.api().get("/customers", include_archived="true").json()["count"] == 1


def test_patch_needs_version(tenant_a):
    appointment = book(tenant_a).json()

    assert_refused(tenant_a.api().patch(f"/appointments/{appointment['id']}", {"title": "No version"}), 400)


def test_reschedule_into_a_clash_is_409(tenant_a):
    first = book(tenant_a).json()
    second = book(tenant_a, TEN, ELEVEN).json()

    response = tenant_a.api().patch(
        f"/appointments/{second['id']}", {"version": 1, "starts_at": TEN_30.replace("10:30", "09:30")}
    )

    assert assert_refused(response, 409)["errors"][0]["conflicting_appointment_id"] == first["id"]


def test_reschedule_to_own_overlapping_time_is_not_a_clash_with_itself(tenant_a):
    appointment = book(tenant_a).json()

    response = tenant_a.api().patch(f"/appointments/{appointment['id']}", {"version": 1, "ends_at": TEN_30})

    assert response.status_code == 200, response.content


def test_only_active_appointments_can_be_rescheduled(tenant_a):
    appointment = book(tenant_a).json()
    url = f"/appointments/{appointment['id']}"
    tenant_a.api().delete(url)

    moved = tenant_a.api().patch(url, {"version": 2, "starts_at": TEN, "ends_at": ELEVEN})
    noted = tenant_a.api().patch(url, {"version": 2, "notes": "Customer rang to cancel"})

    assert assert_refused(moved, 409)["errors"][0]["code"] == "appointment_not_active"
    assert noted.status_code == 200


def test_null_for_required_field_is_400(tenant_a):
    appointment = book(tenant_a).json()

    response = tenant_a.api().patch(f"/appointments/{appointment['id']}", {"version": 1, "starts_at": None})

    assert_refused(response, 400)


def test_list_filters(tenant_a):
    customer = customer_id(tenant_a)
    early = book(tenant_a, customer=customer).json()
    late = book(tenant_a, TEN, ELEVEN, staff=False).json()
    tenant_a.api().post(f"/appointments/{late['id']}/transition", {"status": "CONFIRMED"})

    def ids(**query):
        return [a["id"] for a in tenant_a.api().get("/appointments", **query).json()["items"]]

    assert ids() == [early["id"], late["id"]]
    assert ids(status="CONFIRMED") == [late["id"]]
    assert ids(status="scheduled,confirmed") == [early["id"], late["id"]]
    assert ids(customer_id=customer) == [early["id"]]
    assert ids(staff_id=tenant_a.staff.pk) == [early["id"]]
    assert ids(**{"from": f"{DAY}T09:30:00-04:00"}) == [early["id"], late["id"]]
    assert ids(**{"from": TEN}) == [late["id"]]
    assert ids(to=TEN) == [early["id"]]
    assert_refused(tenant_a.api().get("/appointments", status="DONE"), 400)


def test_customer_history_lists_appointments_newest_first(tenant_a):
    customer = customer_id(tenant_a)
    early = book(tenant_a, customer=customer).json()
    late = book(tenant_a, TEN, ELEVEN, customer=customer).json()

    body = tenant_a.api().get(f"/customers/{customer}/history", limit=1).json()
    second_page = tenant_a.api().get(f"/customers/{customer}/history", limit=1, cursor=body["next_cursor"]).json()

    assert [(e["kind"], e["id"]) for e in body["items"]] == [("appointment", late["id"])]
    assert body["next_cursor"] is not None
    assert body["items"][0]["status"] == "SCHEDULED"
    assert [e["id"] for e in second_page["items"]] == [early["id"]]
    assert second_page["next_cursor"] is None


def transition(tenant, appointment_id, status, **extra):
    return tenant.api().post(f"/appointments/{appointment_id}/transition", {"status": status, **extra})


def test_happy_path_to_completed(tenant_a):
    appointment_id = book(tenant_a).json()["id"]

    statuses = [
        transition(tenant_a, appointment_id, s).json()["status"] for s in ("CONFIRMED", "IN_PROGRESS", "COMPLETED")
    ]

    assert statuses == ["CONFIRMED", "IN_PROGRESS", "COMPLETED"]
    assert tenant_a.api().get(f"/appointments/{appointment_id}").json()["version"] == 4


def test_illegal_transition_lists_allowed_states(tenant_a):
    appointment_id = book(tenant_a).json()["id"]

    body = assert_refused(transition(tenant_a, appointment_id, "COMPLETED"), 409)

    assert body["errors"] == [
        {
            "code": "invalid_transition",
            "current": "SCHEDULED",
            "requested": "COMPLETED",
            "allowed": ["CONFIRMED", "NO_SHOW", "CANCELLED"],
        }
    ]


def test_no_show_only_before_the_visit_starts(tenant_a):
    confirmed = book(tenant_a).json()["id"]
    started = book(tenant_a, TEN, ELEVEN).json()["id"]
    transition(tenant_a, confirmed, "CONFIRMED")
    transition(tenant_a, started, "CONFIRMED")
    transition(tenant_a, started, "IN_PROGRESS")

    assert transition(tenant_a, confirmed, "NO_SHOW").json()["status"] == "NO_SHOW"
    assert assert_refused(transition(tenant_a, started, "NO_SHOW"), 409)["errors"][0]["allowed"] == [
        "COMPLETED",
        "CANCELLED",
    ]


def test_cancel_needs_a_reason(tenant_a):
    appointment_id = book(tenant_a).json()["id"]

    missing = transition(tenant_a, appointment_id, "CANCELLED", reason="  ")
    given = transition(tenant_a, appointment_id, "CANCELLED", reason="Customer is ill")

    assert assert_refused(missing, 400)["errors"][0]["field"] == "reason"
    assert given.json()["status"] == "CANCELLED"
    assert given.json()["cancel_reason"] == "Customer is ill"


def test_terminal_states_allow_nothing(tenant_a):
    appointment_id = book(tenant_a).json()["id"]
    transition(tenant_a, appointment_id, "CANCELLED", reason="Duplicate")

    body = assert_refused(transition(tenant_a, appointment_id, "SCHEDULED"), 409)

    assert body["errors"][0]["allowed"] == []


def test_unknown_status_is_400(tenant_a):
    appointment_id = book(tenant_a).json()["id"]

    assert_refused(transition(tenant_a, appointment_id, "DONE"), 400)


def test_transition_with_stale_version_is_409(tenant_a):
    appointment_id = book(tenant_a).json()["id"]

    assert_refused(transition(tenant_a, appointment_id, "CONFIRMED", version=7), 409)


def test_delete_cancels_with_default_or_given_reason(tenant_a):
    default = book(tenant_a).json()["id"]
    given = book(tenant_a, TEN, ELEVEN).json()["id"]

    first = tenant_a.api().delete(f"/appointments/{default}")
    again = tenant_a.api().delete(f"/appointments/{default}")
    with_reason = tenant_a.api().delete(f"/appointments/{given}?reason=Rain")

    assert first.status_code == 200
    assert first.json()["status"] == "CANCELLED"
    assert first.json()["cancel_reason"] == "Cancelled via API"
    assert again.status_code == 200
    assert again.json()["version"] == first.json()["version"]
    assert with_reason.json()["cancel_reason"] == "Rain"
    assert tenant_a.api().get(f"/appointments/{default}").status_code == 200


def test_completed_appointment_cannot_be_deleted(tenant_a):
    appointment_id = book(tenant_a).json()["id"]
    for status in ("CONFIRMED", "IN_PROGRESS", "COMPLETED"):
        transition(tenant_a, appointment_id, status)

    assert_refused(tenant_a.api().delete(f"/appointments/{appointment_id}"), 409)


def test_availability_endpoint_answers_local_slots(tenant_a):
    tenant_a.api().patch("/tenants/me", {"business_hours": {"mon": [["09:00", "10:00"]]}})
    book(tenant_a)

    response = tenant_a.api().get(
        "/appointments/availability", date=f"{DAY}", duration_minutes=30, staff_id=tenant_a.owner.pk
    )
    busy_staff = tenant_a.api().get(
        "/appointments/availability", date=f"{DAY}", duration_minutes=30, staff_id=tenant_a.staff.pk
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["timezone"] == "America/New_York"
    assert body["step_minutes"] == 15
    assert [s["starts_at"] for s in body["slots"]] == [
        f"{DAY}T09:00:00-04:00",
        f"{DAY}T09:15:00-04:00",
        f"{DAY}T09:30:00-04:00",
    ]
    assert body["slots"][0]["ends_at"] == f"{DAY}T09:30:00-04:00"
    assert body["slots"][0]["staff_ids"] == [tenant_a.owner.pk]
    assert busy_staff.json()["slots"] == []


def test_availability_validates_its_parameters(tenant_a, tenant_b):
    api = tenant_a.api()

    assert_refused(api.get("/appointments/availability", date="2027-13-01", duration_minutes=30), 400)
    assert_refused(api.get("/appointments/availability", date=f"{DAY}", duration_minutes=0), 400)
    assert_refused(api.get("/appointments/availability", date=f"{DAY}", duration_minutes=600), 400)
    assert_refused(
        api.get("/appointments/availability", date=f"{DAY}", duration_minutes=30, staff_id=tenant_b.staff.pk), 404
    )
