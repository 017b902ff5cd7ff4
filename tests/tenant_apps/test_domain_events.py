"""Every change emits its domain event once, from the service that owns it, in the change's
transaction, with a payload valid against the catalogue and about the changing business only."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection, transaction

from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Membership
from shared_apps.events import services as events
from shared_apps.events.catalogue import event_type
from shared_apps.outbox.models import OutboxMessage
from shared_apps.tenants import services as tenant_services
from tenant_apps.appointments import series, time_off
from tenant_apps.appointments import services as appointments
from tenant_apps.bookings import services as bookings
from tenant_apps.customers import services as customers
from tenant_apps.customers.models import Customer
from tenant_apps.invoices import services as invoices
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments import services as payments
from tenant_apps.portal import services as portal
from tenant_apps.quotes import services as quotes
from tenant_apps.quotes.models import Quote
from tenant_apps.sms import services as sms
from tenant_apps.sms.models import Message
from tenant_apps.voice import services as voice
from tenant_apps.work_requests import services as work_requests
from tests.events import emitted
from tests.factories import CustomerFactory, PriceBookItemFactory
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import draft_invoice, sent_invoice
from tests.tenant_apps.quotes.factories import draft_quote, sent_quote
from tests.tenant_apps.voice import payloads

NOW = datetime(2026, 1, 15, 20, 0, tzinfo=UTC)
STARTS = datetime(2027, 1, 20, 15, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_earlier_events(db):
    """Events of the session's set-up (members joining) are deleted in this test's transaction."""
    OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR).delete()


def _forget(test_tenant) -> None:
    """Drop what the set-up of a change emitted, so only the change's own events remain."""
    OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR, schema_name=test_tenant.tenant.schema_name).delete()


def _book(test_tenant, customer_id: int):
    return appointments.create_appointment(
        tenant=test_tenant.tenant,
        customer_id=customer_id,
        title="Boiler service",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=1),
        now=NOW,
    )


# Recurring visits are booked a horizon ahead of their clock: this one is just before STARTS.
SERIES_NOW = STARTS - timedelta(days=1)


def _time_off(t, **changes):
    return time_off.create_time_off(
        tenant=t.tenant,
        actor_user_id=t.owner.pk,
        actor_role="owner",
        staff_id=t.staff.pk,
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=2),
        **changes,
    )


def _closed_day(t):
    return time_off.create_closed_day(tenant=t.tenant, actor_user_id=t.owner.pk, starts_on=STARTS.date())


def _series(t, customer, *, now: datetime, staff_id: int | None = None):
    return series.create_series(
        tenant=t.tenant,
        customer_id=customer.pk,
        title="Boiler service",
        starts_at=STARTS,
        duration_minutes=60,
        rrule="FREQ=YEARLY;COUNT=1",
        staff_id=staff_id,
        now=now,
    )


def time_off_created(t, _):
    return _time_off(t)


def time_off_updated(t, _):
    row = _time_off(t)
    _forget(t)
    return time_off.update_time_off(
        tenant=t.tenant,
        actor_user_id=t.owner.pk,
        actor_role="owner",
        time_off_id=row.pk,
        version=row.version,
        changes={"reason": "Training"},
    )


def time_off_deleted(t, _):
    row = _time_off(t)
    _forget(t)
    return time_off.delete_time_off(actor_user_id=t.owner.pk, actor_role="owner", time_off_id=row.pk)


def closed_day_created(t, _):
    return _closed_day(t)


def closed_day_updated(t, _):
    row = _closed_day(t)
    _forget(t)
    return time_off.update_closed_day(
        tenant=t.tenant, closed_day_id=row.pk, version=row.version, changes={"reason": "Holiday"}
    )


def closed_day_deleted(t, _):
    row = _closed_day(t)
    _forget(t)
    return time_off.delete_closed_day(closed_day_id=row.pk)


def series_created(t, customer):
    # Its one visit is already past at `now`, so nothing else is booked (and emitted).
    return _series(t, customer, now=STARTS + timedelta(days=1))


def series_changed(t, customer):
    made = _series(t, customer, now=STARTS + timedelta(days=1))
    _forget(t)
    return series.update_series(
        tenant=t.tenant,
        series_id=made.pk,
        version=made.version,
        scope="all",
        changes={"title": "Annual service"},
        now=STARTS + timedelta(days=1),
    )


def series_ended(t, customer):
    made = _series(t, customer, now=STARTS + timedelta(days=1))
    _forget(t)
    return series.end_series(series_id=made.pk, version=made.version, now=STARTS + timedelta(days=1))


def series_occurrence_conflict(t, customer):
    """The visit first clashed with a booking; that one is cancelled but the staff member takes
    time off instead: the daily retry reports the new reason."""
    other = appointments.create_appointment(
        tenant=t.tenant,
        customer_id=customer.pk,
        title="Other job",
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=1),
        staff_id=t.staff.pk,
    )
    _series(t, customer, now=SERIES_NOW, staff_id=t.staff.pk)
    appointments.cancel_appointment(appointment_id=other.pk)
    _time_off(t)
    _forget(t)
    return series.materialise_series(tenant=t.tenant, now=SERIES_NOW)


# Each change: (set-up run before, returning state) and (the change itself).
def customer_created(t, _):
    return customers.create_customer(region="US", data={"name": "Dana Reyes"})


def customer_updated(t, customer):
    return customers.update_customer(
        customer_id=customer.pk, region="US", changes={"name": "Dana R."}, version=customer.version
    )


def customer_archived(t, customer):
    _book(t, customer.pk)  # an appointment refers to them: archived, not deleted
    _forget(t)
    return customers.delete_customer(customer_id=customer.pk)


def quote_options_chosen(t, customer):
    quote = sent_quote(t.tenant, customer_id=customer.pk, items=[item(), item(optional=True, selected=False)])
    _forget(t)
    optional = quote.items.get(optional=True)
    return quotes.choose_quote_options(
        tenant=t.tenant, quote_id=quote.pk, customer_id=customer.pk, selected_item_ids=[optional.pk]
    )


def customer_link_created(t, customer):
    return portal.create_customer_link(tenant=t.tenant, customer_id=customer.pk)


def customer_link_revoked(t, customer):
    issued = portal.create_customer_link(tenant=t.tenant, customer_id=customer.pk)
    _forget(t)
    return portal.revoke_customer_link(link_id=issued.link.pk)


def customer_link_opened(t, customer):
    issued = portal.create_customer_link(tenant=t.tenant, customer_id=customer.pk)
    _forget(t)
    return portal.open_customer_link(tenant=t.tenant, token=issued.token)


def appointment_booked(t, customer):
    return _book(t, customer.pk)


def appointment_rescheduled(t, customer):
    appointment = _book(t, customer.pk)
    _forget(t)
    moved = STARTS + timedelta(days=1)
    return appointments.update_appointment(
        tenant=t.tenant,
        appointment_id=appointment.pk,
        version=appointment.version,
        changes={"starts_at": moved, "ends_at": moved + timedelta(hours=1)},
        now=NOW,
    )


def appointment_status_changed(t, customer):
    appointment = _book(t, customer.pk)
    _forget(t)
    return appointments.transition_appointment(appointment_id=appointment.pk, status="CONFIRMED")


def appointment_cancelled(t, customer):
    appointment = _book(t, customer.pk)
    _forget(t)
    return appointments.cancel_appointment(appointment_id=appointment.pk, reason="Customer called")


def quote_sent(t, customer):
    quote = draft_quote(t.tenant, customer_id=customer.pk)
    return quotes.change_quote_status(tenant=t.tenant, quote_id=quote.pk, status=Quote.Status.SENT)


def _quote_decided(status):
    def change(t, customer):
        quote = sent_quote(t.tenant, customer_id=customer.pk)
        _forget(t)
        return quotes.change_quote_status(tenant=t.tenant, quote_id=quote.pk, status=status)

    return change


def quote_expired(t, customer):
    quote = sent_quote(t.tenant, customer_id=customer.pk)
    _forget(t)
    later = datetime.combine(quote.valid_until + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    return quotes.expire_quotes(tenant=t.tenant, now=later)


def invoice_sent(t, customer):
    invoice = draft_invoice(t.tenant, customer_id=customer.pk)
    return invoices.change_invoice_status(tenant=t.tenant, invoice_id=invoice.pk, status=Invoice.Status.SENT)


def invoice_cancelled(t, customer):
    invoice = sent_invoice(t.tenant, customer_id=customer.pk)
    _forget(t)
    return invoices.change_invoice_status(tenant=t.tenant, invoice_id=invoice.pk, status=Invoice.Status.CANCELLED)


def invoice_overdue(t, customer):
    invoice = sent_invoice(t.tenant, customer_id=customer.pk)
    _forget(t)
    later = datetime.combine(invoice.due_date + timedelta(days=2), datetime.min.time(), tzinfo=UTC)
    return invoices.mark_overdue_invoices(tenant=t.tenant, now=later)


def invoice_paid(t, customer):
    invoice = sent_invoice(t.tenant, customer_id=customer.pk)
    _forget(t)
    invoice = invoices.lock_invoice(invoice_id=invoice.pk)
    return invoices.apply_ledger_entry(invoice=invoice, paid_delta=invoice.amount_due)


def payment_received(t, customer):
    invoice = sent_invoice(t.tenant, customer_id=customer.pk)
    _forget(t)
    return payments.record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")


def payment_refunded(t, customer):
    invoice = sent_invoice(t.tenant, customer_id=customer.pk)
    payments.record_manual_payment(invoice_id=invoice.pk, amount=100, method="cash")
    _forget(t)
    return payments.record_refund(invoice_id=invoice.pk, amount=40, method="cash")


def sms_received(t, customer):
    return sms.receive_inbound_message(
        tenant=t.tenant, provider_sid="SM" + "1" * 32, from_number=customer.phone, to_number="+12025550100", body="Hi"
    )


def sms_delivery_failed(t, customer):
    message = Message.objects.create(
        direction=Message.Direction.OUTBOUND,
        from_number="+12025550100",
        to_number=customer.phone,
        body="Hello",
        status=Message.Status.SENT,
        customer=customer,
        provider_sid="SM" + "2" * 32,
    )
    return sms.apply_status_callback(provider_sid=message.provider_sid, twilio_status="undelivered", error_code=30003)


def call_ended(t, customer):
    body = payloads.message("end-of-call-report", call_id=f"call-{t.tenant.schema_name}", caller=customer.phone)
    return voice.apply_end_of_call_report(tenant=t.tenant, message=body["message"])


def member_role_changed(t, _):
    return accounts.change_member_role(
        tenant_id=t.tenant.pk, actor_role=Membership.Role.OWNER, user_id=t.staff.pk, role=Membership.Role.ADMIN
    )


def member_removed(t, _):
    return accounts.remove_member(tenant_id=t.tenant.pk, actor_role=Membership.Role.OWNER, user_id=t.staff.pk)


def tenant_suspended(t, _):
    return tenant_services.set_tenant_status(tenant_id=t.tenant.pk, status="suspended")


def _booking_request(t, customer):
    """A request waiting for staff (the business confirms first), a day before its time."""
    t.store_settings(online_booking_confirm_first=True)
    service = PriceBookItemFactory(duration_minutes=60)
    request, _ = bookings.request_booking(
        tenant=t.tenant, customer_id=customer.pk, service_id=service.pk, starts_at=STARTS, now=SERIES_NOW
    )
    return request


def booking_accepted(t, customer):
    request = _booking_request(t, customer)
    _forget(t)
    return bookings.accept_booking_request(
        tenant=t.tenant, booking_request_id=request.pk, decided_by_id=t.owner.pk, now=SERIES_NOW
    )


def booking_declined(t, customer):
    request = _booking_request(t, customer)
    _forget(t)
    return bookings.decline_booking_request(booking_request_id=request.pk, decided_by_id=t.owner.pk, reason="Full")


def work_request_created(t, customer):
    return work_requests.create_work_request(customer_id=customer.pk, description="A dripping tap")


def work_request_converted(t, customer):
    request = work_request_created(t, customer)
    _forget(t)
    return work_requests.convert_work_request(
        tenant=t.tenant, work_request_id=request.pk, to="quote", decided_by_id=t.owner.pk
    )


def work_request_closed(t, customer):
    request = work_request_created(t, customer)
    _forget(t)
    return work_requests.close_work_request(work_request_id=request.pk, decided_by_id=t.owner.pk, reason="Not ours")


CHANGES: dict[str, tuple[Callable, list[str]]] = {
    "customer.created": (customer_created, ["customer.created"]),
    "customer.updated": (customer_updated, ["customer.updated"]),
    "customer.archived": (customer_archived, ["customer.archived"]),
    "customer_link.created": (customer_link_created, ["customer_link.created"]),
    "customer_link.revoked": (customer_link_revoked, ["customer_link.revoked"]),
    "customer_link.opened": (customer_link_opened, ["customer_link.opened"]),
    "appointment.booked": (appointment_booked, ["appointment.booked"]),
    "appointment.rescheduled": (appointment_rescheduled, ["appointment.rescheduled"]),
    "appointment.status_changed": (appointment_status_changed, ["appointment.status_changed"]),
    "appointment.cancelled": (appointment_cancelled, ["appointment.cancelled"]),
    "quote.sent": (quote_sent, ["quote.sent"]),
    "quote.accepted": (_quote_decided(Quote.Status.ACCEPTED), ["quote.accepted"]),
    "quote.declined": (_quote_decided(Quote.Status.REJECTED), ["quote.declined"]),
    "quote.expired": (quote_expired, ["quote.expired"]),
    "quote.options_chosen": (quote_options_chosen, ["quote.options_chosen"]),
    "invoice.sent": (invoice_sent, ["invoice.sent"]),
    "invoice.paid": (invoice_paid, ["invoice.paid"]),
    "invoice.overdue": (invoice_overdue, ["invoice.overdue"]),
    "invoice.cancelled": (invoice_cancelled, ["invoice.cancelled"]),
    "payment.received": (payment_received, ["payment.received"]),
    "payment.refunded": (payment_refunded, ["payment.refunded"]),
    "sms.received": (sms_received, ["sms.received"]),
    "sms.delivery_failed": (sms_delivery_failed, ["sms.delivery_failed"]),
    "call.ended": (call_ended, ["call.ended"]),
    "time_off.created": (time_off_created, ["time_off.created"]),
    "time_off.updated": (time_off_updated, ["time_off.updated"]),
    "time_off.deleted": (time_off_deleted, ["time_off.deleted"]),
    "closed_day.created": (closed_day_created, ["closed_day.created"]),
    "closed_day.updated": (closed_day_updated, ["closed_day.updated"]),
    "closed_day.deleted": (closed_day_deleted, ["closed_day.deleted"]),
    "appointment_series.created": (series_created, ["appointment_series.created"]),
    "appointment_series.changed": (series_changed, ["appointment_series.changed"]),
    "appointment_series.ended": (series_ended, ["appointment_series.ended"]),
    "appointment_series.occurrence_conflict": (series_occurrence_conflict, ["appointment_series.occurrence_conflict"]),
    "member.role_changed": (member_role_changed, ["member.role_changed"]),
    "member.removed": (member_removed, ["member.removed"]),
    "tenant.status_changed": (tenant_suspended, ["tenant.status_changed"]),
    "booking.requested": (_booking_request, ["booking.requested"]),
    # Accepting books the appointment through the calendar's own service.
    "booking.accepted": (booking_accepted, ["appointment.booked", "booking.accepted"]),
    "booking.declined": (booking_declined, ["booking.declined"]),
    "work_request.created": (work_request_created, ["work_request.created"]),
    "work_request.converted": (work_request_converted, ["work_request.converted"]),
    "work_request.closed": (work_request_closed, ["work_request.closed"]),
}


def _change(test_tenant, name: str):
    with test_tenant.schema():
        customer = CustomerFactory(name="Dana Reyes", phone="+12025550111")
        _forget(test_tenant)
        return CHANGES[name][0](test_tenant, customer)


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_change_emits_its_event_once_with_a_valid_payload(tenant_a, name):
    _change(tenant_a, name)

    found = emitted(schema_name=tenant_a.tenant.schema_name)
    assert [event.type for event in found] == CHANGES[name][1]
    for event in found:
        kind = event_type(event.type)
        assert kind.payload.model_validate(event.as_message()["payload"]) == event.payload
        assert event.version == kind.version


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_a_rolled_back_change_emits_nothing(tenant_a, name):
    with pytest.raises(RuntimeError), transaction.atomic():
        _change(tenant_a, name)
        raise RuntimeError("rolled back")

    assert emitted(schema_name=tenant_a.tenant.schema_name) == []


def test_a_joining_member_is_an_event_of_their_business(tenant_a):
    from shared_apps.accounts import invitations

    invitation = invitations.create_invitation(
        tenant_id=tenant_a.tenant.pk,
        actor_role=Membership.Role.OWNER,
        inviter_id=tenant_a.owner.pk,
        email="new@a.test",
        role=Membership.Role.STAFF,
    )
    joined = invitations.accept_invitation(token=invitation.token, password="a long enough password 42")

    [event] = emitted("member.joined")
    assert event.tenant == tenant_a.tenant.schema_name
    assert event.payload.model_dump() == {"user_id": joined.user.pk, "role": "staff"}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_an_event_carries_only_its_own_business_data(tenant_a, tenant_b, name):
    """The same change in both businesses: each event names its own schema, and every id it
    carries is a row of that business."""
    _change(tenant_b, name)
    _change(tenant_a, name)

    for test_tenant in (tenant_a, tenant_b):
        for event in emitted(schema_name=test_tenant.tenant.schema_name):
            assert event.tenant == test_tenant.tenant.schema_name
            payload = event.payload.model_dump()
            with test_tenant.schema():
                if payload.get("customer_id") is not None:
                    assert Customer.objects.filter(pk=payload["customer_id"]).exists()
                if "user_id" in payload:
                    assert Membership.objects.filter(
                        tenant=test_tenant.tenant, user_id=payload["user_id"]
                    ).exists() or (event.type == "member.removed")
            assert connection.schema_name == "public"


def test_every_event_type_of_the_catalogue_is_emitted_by_some_change():
    covered = {emitted_type for _, types in CHANGES.values() for emitted_type in types} | {"member.joined"}
    # Declines and disputes come from Stripe: tests/api/test_payment_events.py.
    payments = {"payment.failed", "payment.disputed"}
    from shared_apps.events.catalogue import EVENT_TYPES

    assert set(EVENT_TYPES) - covered <= payments
