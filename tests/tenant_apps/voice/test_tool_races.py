"""Tool calls racing on real parallel connections (committed rows, one thread and database
connection each, through the webhook as Vapi would send them)."""

import pytest
from django.db import connection

from shared_apps.tenants import services as tenant_services
from tenant_apps.appointments import services as appointments
from tenant_apps.appointments.models import Appointment
from tenant_apps.voice.models import ToolCallResult
from tests.concurrency import run_at_once
from tests.factories import CustomerFactory
from tests.tenant_apps.voice.conftest import local, next_business_day
from tests.tenant_apps.voice.payloads import post, results, tool_calls

PHONE = "pn-race-0001"


@pytest.fixture
def voice_tenant(committed_tenant):
    connection.set_schema_to_public()
    tenant_services.update_tenant_settings(
        tenant_id=committed_tenant.tenant.pk, changes={"vapi_phone_number_id": f"{PHONE}-{committed_tenant.slug}"}
    )
    return committed_tenant


def book(voice_tenant, tool_id: str, *, starts_at: str, caller: str):
    body = tool_calls(
        (tool_id, "book_appointment", {"starts_at": starts_at, "duration_minutes": 60}),
        phone_number_id=f"{PHONE}-{voice_tenant.slug}",
        caller=caller,
        call_id=f"race-{tool_id}-{caller}",
    )
    return lambda: results(post(body))[tool_id]


@pytest.mark.concurrency
def test_the_same_tool_call_delivered_twice_at_once_books_one_appointment(voice_tenant):
    day = next_business_day(voice_tenant.tenant.zone)
    deliver = book(voice_tenant, "dup-1", starts_at=f"{day}T10:00", caller="+12025550150")

    first, second = run_at_once([deliver, deliver])

    assert first == second
    assert first["booked"] is True
    with voice_tenant.schema():
        assert Appointment.objects.count() == 1
        assert ToolCallResult.objects.filter(tool_call_id="dup-1").count() == 1


@pytest.mark.concurrency
def test_two_callers_racing_for_the_last_free_slot_one_books_the_other_hears_the_next_slots(voice_tenant):
    tenant = voice_tenant.tenant
    day = next_business_day(tenant.zone)
    starts = local(day, 10, tenant.zone)
    # The staff member is busy then: only the owner is free, so the slot can be booked once.
    with voice_tenant.schema():
        appointments.create_appointment(
            tenant=tenant,
            customer_id=CustomerFactory().pk,
            title="Already booked",
            starts_at=starts,
            ends_at=local(day, 11, tenant.zone),
            staff_id=voice_tenant.staff.pk,
        )

    answers = run_at_once(
        [
            book(voice_tenant, "race-a", starts_at=f"{day}T10:00", caller="+12025550151"),
            book(voice_tenant, "race-b", starts_at=f"{day}T10:00", caller="+12025550152"),
        ]
    )

    [winner] = [answer for answer in answers if answer["booked"]]
    [loser] = [answer for answer in answers if not answer["booked"]]
    assert loser["reason"] == "slot_taken"
    assert loser["slots"][0] == local(day, 11, tenant.zone).isoformat()
    with voice_tenant.schema():
        booked = Appointment.objects.get(pk=winner["appointment_id"])
        assert booked.staff_id == voice_tenant.owner.pk
        assert Appointment.objects.filter(starts_at=starts).count() == 2
