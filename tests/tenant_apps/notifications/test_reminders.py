"""Appointment reminders: written at booking, re-checked when due, sent at most once, held by
quiet hours, skipped for opted-out numbers and after long downtime; DST-correct."""

from datetime import UTC, datetime, timedelta

import dramatiq
import pytest

from shared_apps.outbox.models import OutboxMessage
from tasks import actors
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tenant_apps.appointments import services
from tenant_apps.notifications.reminders import REMINDER_ACTOR, send_appointment_reminder
from tenant_apps.sms.models import AutomaticText, Message
from tests.concurrency import run_at_once
from tests.events import deliver_events
from tests.factories import CustomerFactory

SENDER = "+12025550500"
# 09:30 EST (tenant A is in New York). Bookings are made at BOOKED_AT (the clock passed in),
# so the reminders are ahead whatever day the suite runs.
STARTS = datetime(2027, 1, 20, 14, 30, tzinfo=UTC)
BOOKED_AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def business(tenant_a):
    tenant_a.store_settings(sms_sender=SENDER)
    OutboxMessage.objects.filter(actor_name=REMINDER_ACTOR).delete()
    return tenant_a


def book(business, starts_at=STARTS, **customer):
    with business.schema():
        appointment = services.create_appointment(
            tenant=business.tenant,
            customer_id=CustomerFactory(**customer).pk,
            title="Boiler service",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            now=BOOKED_AT,
        )
    deliver_events(schema_name=business.tenant.schema_name)  # the booking's event reaches notifications
    return appointment


def reminder_rows(appointment_id: int) -> list[OutboxMessage]:
    rows = OutboxMessage.objects.filter(actor_name=REMINDER_ACTOR, kwargs__appointment_id=appointment_id)
    return list(rows.order_by("run_at"))


def run(business, row: OutboxMessage, *, now: datetime | None = None):
    with business.schema():
        return send_appointment_reminder(**row.kwargs, now=now or row.run_at)


def texts(business) -> list[tuple[str, str, str]]:
    with business.schema():
        return list(AutomaticText.objects.order_by("id").values_list("kind", "status", "skip_reason"))


def sent_bodies(business) -> list[str]:
    with business.schema():
        return list(Message.objects.order_by("id").values_list("body", flat=True))


def test_booking_writes_reminders_24_and_2_hours_before(business):
    appointment = book(business)

    rows = reminder_rows(appointment.pk)

    assert [row.run_at for row in rows] == [STARTS - timedelta(hours=24), STARTS - timedelta(hours=2)]
    assert {row.schema_name for row in rows} == {business.tenant.schema_name}


def test_no_reminders_when_switched_off_or_already_past(business):
    soon = book(business, starts_at=BOOKED_AT + timedelta(hours=1, minutes=30))
    business.store_settings(sms_reminders=False)
    off = book(business)

    assert reminder_rows(off.pk) == []
    assert reminder_rows(soon.pk) == []


def test_a_doubled_scheduler_and_redelivered_messages_send_each_reminder_once(business):
    appointment = book(business, starts_at=datetime(2027, 1, 20, 17, 0, tzinfo=UTC))  # noon EST
    rows = reminder_rows(appointment.pk)
    OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).update(run_at=datetime.now(UTC))
    broker.flush_all()

    relay_outbox()
    relay_outbox()  # the same minute, again
    queued = [dramatiq.Message.decode(data) for data in broker.queues["default"].queue]
    broker.flush_all()
    mine = [message for message in queued if message.actor_name == REMINDER_ACTOR]
    with business.schema():
        for message in mine * 2:  # each delivered twice
            send_appointment_reminder(**message.kwargs, now=datetime.fromisoformat(message.kwargs["due_at"]))

    assert len(mine) == 2
    assert texts(business) == [("reminder_24h", "sent", ""), ("reminder_2h", "sent", "")]
    assert len(sent_bodies(business)) == 2
    assert "Wednesday 20 January at 12:00" in sent_bodies(business)[0]


def test_a_rescheduled_appointment_gets_new_reminders_and_the_old_ones_do_nothing(business):
    appointment = book(business)
    old_rows = reminder_rows(appointment.pk)
    moved_to = STARTS + timedelta(days=1)
    with business.schema():
        services.update_appointment(
            tenant=business.tenant,
            appointment_id=appointment.pk,
            version=appointment.version,
            changes={"starts_at": moved_to, "ends_at": moved_to + timedelta(hours=1)},
            now=BOOKED_AT,
        )
    deliver_events(schema_name=business.tenant.schema_name)
    new_rows = [row for row in reminder_rows(appointment.pk) if row.pk not in {old.pk for old in old_rows}]

    assert run(business, old_rows[0]) is None
    assert [row.run_at for row in new_rows] == [moved_to - timedelta(hours=24), moved_to - timedelta(hours=2)]
    assert run(business, new_rows[0]).status == AutomaticText.Status.SENT
    assert texts(business) == [("reminder_24h", "sent", "")]


def test_a_cancelled_appointment_gets_no_reminder(business):
    appointment = book(business)
    with business.schema():
        services.cancel_appointment(appointment_id=appointment.pk, reason="Customer called")

    assert [run(business, row) for row in reminder_rows(appointment.pk)] == [None, None]
    assert texts(business) == []
    assert sent_bodies(business) == []


def test_quiet_hours_hold_a_reminder_until_eight_in_the_morning(business):
    appointment = book(business)
    two_hours_before = reminder_rows(appointment.pk)[1]  # 07:30 EST, inside quiet hours

    assert run(business, two_hours_before) is None
    deferred = reminder_rows(appointment.pk)[-1]
    assert deferred.run_at == datetime(2027, 1, 20, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert run(business, two_hours_before) is None  # delivered again: still one deferral
    assert len(reminder_rows(appointment.pk)) == 3
    assert run(business, deferred).status == AutomaticText.Status.SENT
    assert texts(business) == [("reminder_2h", "sent", "")]


def test_quiet_hours_lasting_past_the_appointment_skip_the_reminder(business):
    appointment = book(business, starts_at=datetime(2027, 1, 20, 12, 0, tzinfo=UTC))  # 07:00 EST
    two_hours_before = reminder_rows(appointment.pk)[1]

    run(business, two_hours_before)

    assert texts(business) == [("reminder_2h", "skipped", "quiet_hours")]


def test_quiet_hours_follow_the_local_clock_across_dst(business):
    # 09:30 EDT on the day clocks spring forward; its 2 h reminder (07:30 EDT) waits until
    # 08:00 EDT, which is 12:00 UTC (13:00 UTC a day earlier).
    appointment = book(business, starts_at=datetime(2027, 3, 14, 13, 30, tzinfo=UTC))

    run(business, reminder_rows(appointment.pk)[1])

    assert reminder_rows(appointment.pk)[-1].run_at == datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    run(business, reminder_rows(appointment.pk)[-1])
    assert "Sunday 14 March at 09:30" in sent_bodies(business)[0]


def test_an_opted_out_customer_is_skipped_and_recorded(business):
    appointment = book(business, sms_opt_out=True)

    decision = run(business, reminder_rows(appointment.pk)[0])

    assert (decision.status, decision.skip_reason) == ("skipped", "opted_out")
    assert sent_bodies(business) == []


def test_after_downtime_recent_reminders_go_and_older_ones_are_skipped(business):
    appointment = book(business)
    day_before, two_hours_before = reminder_rows(appointment.pk)

    run(business, day_before, now=day_before.run_at + timedelta(minutes=29))
    run(business, two_hours_before, now=two_hours_before.run_at + timedelta(minutes=31))

    assert texts(business) == [("reminder_24h", "sent", ""), ("reminder_2h", "skipped", "stale")]


def test_the_reminder_actor_is_registered():
    assert actors.send_appointment_reminder.actor_name == REMINDER_ACTOR


def test_the_same_reminder_run_twice_at_once_sends_one_text(committed_tenant):
    committed_tenant.store_settings(sms_sender=SENDER)
    appointment = book(committed_tenant, starts_at=datetime(2027, 1, 20, 17, 0, tzinfo=UTC))
    row = reminder_rows(appointment.pk)[0]

    def deliver():
        with committed_tenant.schema():
            return send_appointment_reminder(**row.kwargs, now=row.run_at)

    outcomes = run_at_once([deliver, deliver], expected=Exception)

    assert sorted(outcome is None for outcome in outcomes) == [False, True]
    assert texts(committed_tenant) == [("reminder_24h", "sent", "")]
    assert len(sent_bodies(committed_tenant)) == 1
