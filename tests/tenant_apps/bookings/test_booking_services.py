"""Online booking's rules (service level, fixed `now`): the same slots as staff's availability,
booked at once or waiting for staff, DST days in the business's zone, races decided by the
database."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail

from shared_apps.errors import InvalidTransition, NotFound, ValidationFailed
from shared_apps.outbox.models import OutboxMessage
from tenant_apps.appointments.availability import find_available_slots
from tenant_apps.appointments.models import Appointment, TimeOff
from tenant_apps.appointments.services import DoubleBooking, create_appointment
from tenant_apps.bookings import services
from tenant_apps.bookings.models import BookingRequest
from tenant_apps.customers.history import customer_history
from tenant_apps.notifications.staff_alerts import STAFF_ALERT_ACTOR, email_staff_alert
from tests.concurrency import run_at_once
from tests.events import deliver_events, emitted
from tests.factories import CustomerFactory, PriceBookItemFactory, PropertyFactory

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A Monday well ahead of any `now` the tests pass; the tests never read the clock.
MONDAY = date(2027, 6, 7)
NOW = datetime(2027, 6, 1, 12, tzinfo=UTC)


def hours(*intervals):
    return {day: [list(interval) for interval in intervals] for day in ALL_DAYS}


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall time in New York (the test tenants' zone) as UTC; June is EDT (UTC-4)."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour + 4, minutes=minute)


@pytest.fixture
def tenant(tenant_a):
    tenant_a.store_settings(business_hours=hours(("09:00", "17:00")), appointment_buffer_minutes=0)
    with tenant_a.schema():
        yield tenant_a.tenant


@pytest.fixture
def service(tenant):
    return PriceBookItemFactory(name="Boiler service", duration_minutes=60)


@pytest.fixture
def customer(tenant):
    return CustomerFactory()


def book(tenant, customer, service, starts_at, **extra):
    return services.request_booking(
        tenant=tenant, customer_id=customer.pk, service_id=service.pk, starts_at=starts_at, now=NOW, **extra
    )


def test_the_slots_are_staffs_availability_for_the_services_length(tenant, service):
    offered = services.list_booking_slots(tenant=tenant, service_id=service.pk, day=MONDAY, now=NOW)

    assert offered == find_available_slots(tenant=tenant, day=MONDAY, duration_minutes=60, now=NOW)
    assert offered[0].starts_at == at(MONDAY, 9)
    assert offered[-1].starts_at == at(MONDAY, 16)


def test_booking_at_once_makes_the_appointment_with_a_free_member(tenant_a, tenant, service, customer):
    place = PropertyFactory(customer=customer)

    request, created = book(tenant, customer, service, at(MONDAY, 10), property_id=place.pk, notes=" Gate open ")

    appointment = request.appointment
    assert created is True
    assert request.status == BookingRequest.Status.ACCEPTED
    assert (appointment.title, appointment.starts_at, appointment.ends_at) == (
        "Boiler service",
        at(MONDAY, 10),
        at(MONDAY, 11),
    )
    assert appointment.staff_id in (tenant_a.owner.pk, tenant_a.staff.pk)
    assert (appointment.service_property_id, appointment.notes) == (place.pk, "Gate open")
    [requested] = emitted("booking.requested")
    assert requested.payload.status == "ACCEPTED"
    assert requested.payload.appointment_id == appointment.pk
    assert [event.payload.appointment_id for event in emitted("appointment.booked")] == [appointment.pk]


def test_a_booked_slot_is_offered_no_more_once_every_member_is_taken(tenant, service, customer):
    book(tenant, customer, service, at(MONDAY, 10))
    book(tenant, CustomerFactory(), service, at(MONDAY, 10))

    offered = services.list_booking_slots(tenant=tenant, service_id=service.pk, day=MONDAY, now=NOW)

    assert at(MONDAY, 10) not in [slot.starts_at for slot in offered]
    with pytest.raises(services.SlotTaken):
        book(tenant, CustomerFactory(), service, at(MONDAY, 10))


def test_the_same_request_twice_books_once(tenant, service, customer):
    first, _ = book(tenant, customer, service, at(MONDAY, 10))

    again, created = book(tenant, customer, service, at(MONDAY, 10))

    assert (again.pk, created) == (first.pk, False)
    assert Appointment.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize(
    "starts_at",
    [
        pytest.param(at(MONDAY, 8), id="before opening"),
        pytest.param(at(MONDAY, 16, 30), id="ends after closing"),
        pytest.param(at(MONDAY, 10, 5), id="off the slot grid"),
    ],
)
def test_a_time_that_is_no_slot_is_refused(tenant, service, customer, starts_at):
    with pytest.raises(services.SlotTaken):
        book(tenant, customer, service, starts_at)

    assert not BookingRequest.objects.exists()


def test_a_slot_earlier_today_is_no_slot(tenant, service, customer):
    with pytest.raises(services.SlotTaken):
        services.request_booking(
            tenant=tenant, customer_id=customer.pk, service_id=service.pk, starts_at=at(MONDAY, 10), now=at(MONDAY, 11)
        )


@pytest.mark.parametrize(
    ("starts_at", "now"),
    [
        pytest.param(at(MONDAY, 10), at(MONDAY + timedelta(days=1), 8), id="a day past"),
        pytest.param(at(MONDAY + timedelta(days=31), 10), at(MONDAY, 8), id="beyond the days ahead"),
    ],
)
def test_outside_the_booking_window_is_400(tenant, service, customer, starts_at, now):
    with pytest.raises(ValidationFailed) as refused:
        services.request_booking(
            tenant=tenant, customer_id=customer.pk, service_id=service.pk, starts_at=starts_at, now=now
        )

    assert refused.value.details[0]["field"] == "starts_at"


def test_only_active_services_with_a_length_are_bookable(tenant, customer):
    material = PriceBookItemFactory(kind="material", duration_minutes=None)
    inactive = PriceBookItemFactory(active=False)

    for item in (material, inactive):
        with pytest.raises(NotFound):
            book(tenant, customer, item, at(MONDAY, 10))


def test_a_property_of_another_customer_is_refused(tenant, service, customer):
    with pytest.raises(ValidationFailed):
        book(tenant, customer, service, at(MONDAY, 10), property_id=PropertyFactory().pk)


def test_naive_times_are_refused(tenant, service, customer):
    with pytest.raises(ValidationFailed):
        book(tenant, customer, service, datetime(2027, 6, 7, 10))  # noqa: DTZ001 - the point of the test


class TestConfirmFirst:
    @pytest.fixture(autouse=True)
    def confirm_first(self, tenant_a, tenant):
        tenant_a.store_settings(online_booking_confirm_first=True)

    def test_a_request_waits_holding_nothing(self, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))

        assert (request.status, request.appointment_id) == ("PENDING", None)
        assert not Appointment.objects.exists()
        assert emitted("booking.requested")[0].payload.status == "PENDING"

    def test_staff_are_mailed_and_it_is_on_the_timeline(self, tenant_a, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))

        deliver_events(schema_name=tenant.schema_name)
        [job] = OutboxMessage.objects.filter(actor_name=STAFF_ALERT_ACTOR, published_at__isnull=True)
        mailed = email_staff_alert(**job.kwargs)

        assert mailed == 1
        assert f"{customer.name} asks to book Boiler service" in mail.outbox[0].body
        assert mail.outbox[0].to == [tenant_a.owner.email]
        entries, _ = customer_history(customer_id=customer.pk, limit=10)
        assert [(entry.kind, entry.id, entry.status) for entry in entries] == [
            ("booking_request", request.pk, "PENDING")
        ]

    def test_accepting_books_it_through_the_calendar(self, tenant_a, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))

        accepted = services.accept_booking_request(
            tenant=tenant,
            booking_request_id=request.pk,
            decided_by_id=tenant_a.owner.pk,
            staff_id=tenant_a.staff.pk,
            now=NOW,
        )

        assert accepted.status == "ACCEPTED"
        assert (accepted.appointment.staff_id, accepted.appointment.starts_at) == (tenant_a.staff.pk, at(MONDAY, 10))
        assert [event.payload.appointment_id for event in emitted("booking.accepted")] == [accepted.appointment_id]

    def test_accepting_a_slot_taken_meanwhile_is_a_clash(self, tenant_a, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))
        create_appointment(
            tenant=tenant,
            customer_id=CustomerFactory().pk,
            title="Walk-in",
            starts_at=at(MONDAY, 10),
            ends_at=at(MONDAY, 11),
            staff_id=tenant_a.staff.pk,
        )

        with pytest.raises(DoubleBooking):
            services.accept_booking_request(
                tenant=tenant,
                booking_request_id=request.pk,
                decided_by_id=tenant_a.owner.pk,
                staff_id=tenant_a.staff.pk,
                now=NOW,
            )
        request.refresh_from_db()
        assert request.status == "PENDING"

    def test_nobody_free_any_more_is_slot_taken(self, tenant_a, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))
        for member in (tenant_a.owner, tenant_a.staff):
            create_appointment(
                tenant=tenant,
                customer_id=CustomerFactory().pk,
                title="Walk-in",
                starts_at=at(MONDAY, 10),
                ends_at=at(MONDAY, 11),
                staff_id=member.pk,
            )

        with pytest.raises(services.SlotTaken):
            services.accept_booking_request(
                tenant=tenant, booking_request_id=request.pk, decided_by_id=tenant_a.owner.pk, now=NOW
            )

    def test_declining_keeps_the_reason_and_ends_it(self, tenant_a, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))

        declined = services.decline_booking_request(
            booking_request_id=request.pk, decided_by_id=tenant_a.owner.pk, reason=" Fully booked ", now=NOW
        )

        assert (declined.status, declined.decline_reason) == ("DECLINED", "Fully booked")
        assert emitted("booking.declined")[0].payload.reason == "Fully booked"
        with pytest.raises(InvalidTransition):
            services.accept_booking_request(
                tenant=tenant, booking_request_id=request.pk, decided_by_id=tenant_a.owner.pk, now=NOW
            )

    def test_a_passed_request_cannot_be_accepted(self, tenant_a, tenant, service, customer):
        request, _ = book(tenant, customer, service, at(MONDAY, 10))

        with pytest.raises(services.Conflict) as refused:
            services.accept_booking_request(
                tenant=tenant, booking_request_id=request.pk, decided_by_id=tenant_a.owner.pk, now=at(MONDAY, 10)
            )

        assert refused.value.code == "booking_request_past"


class TestDaylightSavingDays:
    """New York: 2027-03-14 has no 02:00-03:00; 2027-11-07 has 01:00-02:00 twice."""

    def test_spring_forward_slots_and_booking_last_the_services_real_length(self, tenant_a, tenant, service):
        tenant_a.store_settings(business_hours=hours(("00:00", "05:00")))
        now = datetime(2027, 3, 10, tzinfo=UTC)

        offered = services.list_booking_slots(tenant=tenant, service_id=service.pk, day=date(2027, 3, 14), now=now)
        # 00:00 EST is 05:00 UTC, 05:00 EDT is 09:00 UTC: four real hours, so the last hour-long
        # slot starts at 08:00 UTC (04:00 EDT) and none starts in the missing hour.
        starts = [slot.starts_at.astimezone(UTC) for slot in offered]
        assert starts[0] == datetime(2027, 3, 14, 5, tzinfo=UTC)
        assert starts[-1] == datetime(2027, 3, 14, 8, tzinfo=UTC)
        assert len(starts) == 13
        assert all(slot.starts_at.astimezone(tenant.zone).hour != 2 for slot in offered)

        across = datetime(2027, 3, 14, 6, 30, tzinfo=UTC)  # 01:30 EST, ends 03:30 EDT
        request, _ = services.request_booking(
            tenant=tenant, customer_id=CustomerFactory().pk, service_id=service.pk, starts_at=across, now=now
        )
        assert request.ends_at - request.starts_at == timedelta(hours=1)
        assert request.appointment.ends_at.astimezone(tenant.zone).isoformat() == "2027-03-14T03:30:00-04:00"

    def test_fall_back_offers_both_half_past_ones(self, tenant_a, tenant, service):
        tenant_a.store_settings(business_hours=hours(("00:00", "03:00")))
        now = datetime(2027, 11, 1, tzinfo=UTC)

        offered = services.list_booking_slots(tenant=tenant, service_id=service.pk, day=date(2027, 11, 7), now=now)

        local = [slot.starts_at.astimezone(tenant.zone).isoformat() for slot in offered]
        assert "2027-11-07T01:30:00-04:00" in local
        assert "2027-11-07T01:30:00-05:00" in local
        second = datetime(2027, 11, 7, 6, 30, tzinfo=UTC)  # the second 01:30 (EST)
        request, _ = services.request_booking(
            tenant=tenant, customer_id=CustomerFactory().pk, service_id=service.pk, starts_at=second, now=now
        )
        assert request.appointment.starts_at == second


# No django_db(transaction=True): its flush would truncate the session's tenants.
@pytest.mark.concurrency
def test_two_customers_booking_the_last_free_slot_at_once_get_one_booking(committed_tenant):
    tenant = committed_tenant.tenant
    committed_tenant.store_settings(business_hours=hours(("09:00", "17:00")), appointment_buffer_minutes=0)
    with committed_tenant.schema():
        service_id = PriceBookItemFactory(duration_minutes=60).pk
        customers = [CustomerFactory().pk, CustomerFactory().pk]
        # The owner is away that day: the staff member is the only one who can take the slot.
        TimeOff.objects.create(
            staff_id=committed_tenant.owner.pk,
            starts_at=at(MONDAY, 0),
            ends_at=at(MONDAY, 23),
            created_by_id=committed_tenant.owner.pk,
        )

    def request(customer_id: int) -> str:
        services.request_booking(
            tenant=tenant, customer_id=customer_id, service_id=service_id, starts_at=at(MONDAY, 10), now=NOW
        )
        return "booked"

    results = run_at_once(
        [lambda customer_id=customer_id: request(customer_id) for customer_id in customers],
        expected=services.SlotTaken,
        tenant=tenant,
    )

    assert sorted("taken" if isinstance(result, services.SlotTaken) else result for result in results) == [
        "booked",
        "taken",
    ]
    with committed_tenant.schema():
        assert Appointment.objects.filter(starts_at=at(MONDAY, 10)).count() == 1
        assert BookingRequest.objects.count() == 1


@pytest.mark.concurrency
def test_two_members_accepting_one_request_at_once_book_it_once(committed_tenant):
    tenant = committed_tenant.tenant
    committed_tenant.store_settings(
        business_hours=hours(("09:00", "17:00")), appointment_buffer_minutes=0, online_booking_confirm_first=True
    )
    with committed_tenant.schema():
        service_id = PriceBookItemFactory(duration_minutes=60).pk
        request, _ = services.request_booking(
            tenant=tenant, customer_id=CustomerFactory().pk, service_id=service_id, starts_at=at(MONDAY, 10), now=NOW
        )

    def accept(member_id: int) -> str:
        services.accept_booking_request(tenant=tenant, booking_request_id=request.pk, decided_by_id=member_id, now=NOW)
        return "accepted"

    results = run_at_once(
        [lambda member=member: accept(member.pk) for member in (committed_tenant.owner, committed_tenant.staff)],
        expected=InvalidTransition,
        tenant=tenant,
    )

    assert sorted("refused" if isinstance(result, InvalidTransition) else result for result in results) == [
        "accepted",
        "refused",
    ]
    with committed_tenant.schema():
        assert Appointment.objects.count() == 1
