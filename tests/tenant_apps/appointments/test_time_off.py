"""Time off and closed days hold time in PostgreSQL itself, like the double-booking
constraint: refused whoever writes, in whatever order, also when the writes race."""

from datetime import date, datetime, time, timedelta

import pytest
from django.db import IntegrityError, transaction

from shared_apps.errors import PermissionDenied
from tenant_apps.appointments import availability, services, time_off
from tenant_apps.appointments.models import Appointment, ClosedDay, TimeOff
from tests.events import emitted
from tests.factories import CustomerFactory
from tests.tenant_apps.voice.conftest import local, next_business_day


def day_of(tenant) -> date:
    return next_business_day(tenant.tenant.zone)


def book(test_tenant, day: date, hour: int, *, staff_id: int | None = None, hours: int = 1) -> Appointment:
    starts_at = local(day, hour, test_tenant.tenant.zone)
    return services.create_appointment(
        tenant=test_tenant.tenant,
        customer_id=CustomerFactory().pk,
        title="Visit",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        staff_id=staff_id,
    )


def add_time_off(test_tenant, day: date, start: int, end: int, *, staff_id: int) -> TimeOff:
    zone = test_tenant.tenant.zone
    return time_off.create_time_off(
        tenant=test_tenant.tenant,
        actor_user_id=test_tenant.owner.pk,
        actor_role="owner",
        staff_id=staff_id,
        starts_at=local(day, start, zone),
        ends_at=local(day, end, zone),
        reason="Dentist",
    )


def test_a_booking_inside_time_off_is_refused_naming_it(tenant_a):
    day = day_of(tenant_a)
    with tenant_a.schema():
        off = add_time_off(tenant_a, day, 9, 13, staff_id=tenant_a.staff.pk)

        with pytest.raises(services.Unavailable) as refused:
            book(tenant_a, day, 12, staff_id=tenant_a.staff.pk)
        # The owner is not off, and the staff member is free once the time off ends.
        book(tenant_a, day, 12, staff_id=tenant_a.owner.pk)
        book(tenant_a, day, 13, staff_id=tenant_a.staff.pk)

    assert refused.value.code == "time_off"
    assert refused.value.details == [{"time_off_id": off.pk}]


def test_moving_an_appointment_into_time_off_is_refused(tenant_a):
    day = day_of(tenant_a)
    zone = tenant_a.tenant.zone
    with tenant_a.schema():
        appointment = book(tenant_a, day, 14, staff_id=tenant_a.staff.pk)
        add_time_off(tenant_a, day, 9, 12, staff_id=tenant_a.staff.pk)

        with pytest.raises(services.Unavailable):
            services.update_appointment(
                tenant=tenant_a.tenant,
                appointment_id=appointment.pk,
                version=appointment.version,
                changes={"starts_at": local(day, 10, zone), "ends_at": local(day, 11, zone)},
            )
        appointment.refresh_from_db()

    assert appointment.starts_at == local(day, 14, zone)


def test_time_off_over_active_appointments_is_refused_listing_them_cancelled_ones_do_not_count(tenant_a):
    day = day_of(tenant_a)
    staff = tenant_a.staff.pk
    with tenant_a.schema():
        first = book(tenant_a, day, 9, staff_id=staff)
        second = book(tenant_a, day, 11, staff_id=staff)
        cancelled = book(tenant_a, day, 13, staff_id=staff)
        services.cancel_appointment(appointment_id=cancelled.pk)

        with pytest.raises(time_off.AppointmentsInTheWay) as refused:
            add_time_off(tenant_a, day, 8, 17, staff_id=staff)
        allowed = add_time_off(tenant_a, day, 13, 17, staff_id=staff)

    assert refused.value.details == [
        {"conflicting_appointment_id": first.pk},
        {"conflicting_appointment_id": second.pk},
    ]
    assert allowed.pk is not None


def test_a_closed_day_blocks_every_booking_of_that_local_day_assigned_or_not(tenant_a):
    day = day_of(tenant_a)
    zone = tenant_a.tenant.zone
    with tenant_a.schema():
        closed = time_off.create_closed_day(tenant=tenant_a.tenant, actor_user_id=tenant_a.owner.pk, starts_on=day)

        for staff_id in (tenant_a.staff.pk, tenant_a.owner.pk, None):
            with pytest.raises(services.Unavailable) as refused:
                book(tenant_a, day, 10, staff_id=staff_id)
            assert refused.value.details == [{"closed_day_id": closed.pk}]
        # The closure is the local day: midnight to midnight in the tenant's zone.
        late_evening_before = book(tenant_a, day - timedelta(days=1), 22, staff_id=None, hours=2)

    assert (closed.starts_at, closed.ends_at) == (
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone),
    )
    assert late_evening_before.ends_at == closed.starts_at


def test_a_closed_day_over_a_booking_is_refused_listing_it(tenant_a):
    day = day_of(tenant_a)
    with tenant_a.schema():
        unassigned = book(tenant_a, day + timedelta(days=1), 10)

        with pytest.raises(time_off.AppointmentsInTheWay) as refused:
            time_off.create_closed_day(
                tenant=tenant_a.tenant, actor_user_id=tenant_a.owner.pk, starts_on=day, ends_on=day + timedelta(days=2)
            )

    assert refused.value.details == [{"conflicting_appointment_id": unassigned.pk}]


def test_the_database_refuses_rows_written_past_the_services(tenant_a):
    """The guarantee is PostgreSQL's: a raw insert that skips the services fails too."""
    day = day_of(tenant_a)
    zone = tenant_a.tenant.zone
    staff = tenant_a.staff.pk
    with tenant_a.schema():
        off = add_time_off(tenant_a, day, 9, 12, staff_id=staff)
        appointment = book(tenant_a, day, 14, staff_id=staff)
        customer = CustomerFactory()

        with pytest.raises(IntegrityError, match="off then"), transaction.atomic():
            Appointment.objects.create(
                customer=customer,
                staff_id=staff,
                title="Raw",
                starts_at=off.starts_at,
                ends_at=off.ends_at,
                blocked_during=(off.starts_at, off.ends_at),
            )
        with pytest.raises(IntegrityError, match="has appointments then"), transaction.atomic():
            TimeOff.objects.create(
                staff_id=staff, starts_at=appointment.starts_at, ends_at=appointment.ends_at, created_by_id=staff
            )
        with pytest.raises(IntegrityError, match="business has appointments then"), transaction.atomic():
            ClosedDay.objects.create(
                starts_on=day,
                ends_on=day,
                starts_at=local(day, 0, zone),
                ends_at=local(day, 23, zone),
                created_by_id=staff,
            )


def test_availability_leaves_out_time_off_and_closed_days(tenant_a):
    day = day_of(tenant_a)
    zone = tenant_a.tenant.zone
    staff, owner = tenant_a.staff.pk, tenant_a.owner.pk
    with tenant_a.schema():
        add_time_off(tenant_a, day, 9, 12, staff_id=staff)
        time_off.create_closed_day(
            tenant=tenant_a.tenant, actor_user_id=owner, starts_on=day + timedelta(days=1), reason="Holiday"
        )
        now = local(day, 0, zone) - timedelta(days=1)
        slots = availability.find_available_slots(tenant=tenant_a.tenant, day=day, duration_minutes=60, now=now)
        closed = availability.find_available_slots(
            tenant=tenant_a.tenant, day=day + timedelta(days=1), duration_minutes=60, now=now
        )

    by_start = {slot.starts_at: slot.staff_ids for slot in slots}
    assert by_start[local(day, 9, zone)] == (owner,)
    assert by_start[local(day, 11, zone)] == (owner,)
    assert sorted(by_start[local(day, 12, zone)]) == sorted((owner, staff))
    assert closed == []


def test_staff_add_only_their_own_time_off(tenant_a):
    day = day_of(tenant_a)
    zone = tenant_a.tenant.zone
    with tenant_a.schema():
        own = time_off.create_time_off(
            tenant=tenant_a.tenant,
            actor_user_id=tenant_a.staff.pk,
            actor_role="staff",
            starts_at=local(day, 9, zone),
            ends_at=local(day, 10, zone),
        )
        with pytest.raises(PermissionDenied):
            time_off.create_time_off(
                tenant=tenant_a.tenant,
                actor_user_id=tenant_a.staff.pk,
                actor_role="staff",
                staff_id=tenant_a.owner.pk,
                starts_at=local(day, 9, zone),
                ends_at=local(day, 10, zone),
            )
        events = emitted("time_off.created")

    assert own.staff_id == tenant_a.staff.pk
    assert [event.payload.time_off_id for event in events] == [own.pk]
