"""Every domain event type: its name, version and payload schema. Payloads carry ids and the
few facts a subscriber needs to decide (subscribers re-read the rows they act on), in integer
minor units and UTC. `catalogue()` is the machine-readable list served to integrations."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    """A payload: frozen, and refusing fields its schema does not name."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerPayload(Payload):
    customer_id: int
    name: str


class CustomerUpdatedPayload(CustomerPayload):
    changed_fields: list[str]


class AppointmentPayload(Payload):
    appointment_id: int
    customer_id: int
    status: str
    starts_at: datetime
    ends_at: datetime


class AppointmentRescheduledPayload(AppointmentPayload):
    previous_starts_at: datetime
    previous_ends_at: datetime


class AppointmentStatusChangedPayload(AppointmentPayload):
    previous_status: str


class TimeOffPayload(Payload):
    time_off_id: int
    staff_id: int
    starts_at: datetime
    ends_at: datetime


class ClosedDayPayload(Payload):
    closed_day_id: int
    starts_on: date  # local days of the business, inclusive
    ends_on: date


class SeriesPayload(Payload):
    series_id: int
    customer_id: int
    staff_id: int | None
    rrule: str
    starts_on: date  # the local day of the rule's DTSTART


class SeriesChangedPayload(SeriesPayload):
    scope: str  # "all" or "following"
    from_date: date  # the first local day the change applies to
    previous_series_id: int | None  # "following": the series it was split from


class SeriesOccurrenceConflictPayload(Payload):
    series_id: int
    local_date: date
    reason: str  # the refusal's code: double_booking, time_off, closed_day, ...
    appointment_id: int | None  # the visit that could not be moved; None when none was booked


class BookingRequestPayload(Payload):
    booking_request_id: int
    customer_id: int
    service_id: int | None  # the price book service; None once it was deleted
    status: str  # PENDING (waits for staff), ACCEPTED (booked), DECLINED
    starts_at: datetime
    ends_at: datetime
    appointment_id: int | None  # the appointment it became, once booked


class BookingDeclinedPayload(BookingRequestPayload):
    reason: str


class WorkRequestPayload(Payload):
    work_request_id: int
    customer_id: int
    status: str  # NEW, CONVERTED, CLOSED
    property_id: int | None
    photo_count: int


class WorkRequestConvertedPayload(WorkRequestPayload):
    appointment_id: int | None  # what it became: an appointment or a draft quote
    quote_id: int | None


class WorkRequestClosedPayload(WorkRequestPayload):
    reason: str


class DocumentPayload(Payload):
    customer_id: int
    number: str
    version: int
    currency: str


class QuotePayload(DocumentPayload):
    quote_id: int
    total: int


class QuoteOptionsChosenPayload(QuotePayload):
    selected_item_ids: list[int]  # the optional items now counted; the others are left out


class InvoicePayload(DocumentPayload):
    invoice_id: int
    total: int
    amount_due: int


class InvoiceOverduePayload(InvoicePayload):
    due_date: date


class PaymentPayload(Payload):
    invoice_id: int
    amount: int
    currency: str


class PaymentReceivedPayload(PaymentPayload):
    payment_id: int
    method: str


class PaymentRefundedPayload(PaymentPayload):
    refund_id: int  # the ledger's refund row
    payment_id: int | None  # the card payment refunded; None for a refund recorded by hand


class PaymentFailedPayload(PaymentPayload):
    notice_id: int  # the failure's entry on the owner's timeline
    reason: str


class PaymentDisputedPayload(PaymentPayload):
    payment_id: int
    dispute_id: str  # Stripe's
    reason: str


class SmsPayload(Payload):
    message_id: int
    customer_id: int | None


class SmsDeliveryFailedPayload(SmsPayload):
    error_code: int | None


class CallEndedPayload(Payload):
    call_id: int
    customer_id: int | None
    direction: str
    ended_reason: str


class MemberPayload(Payload):
    user_id: int
    role: str


class MemberRoleChangedPayload(MemberPayload):
    previous_role: str


class CustomerLinkPayload(Payload):
    link_id: int
    customer_id: int
    sent_via: str  # "sms", "email" or "none" (handed over by staff)
    expires_at: datetime


class TenantStatusChangedPayload(Payload):
    status: str
    previous_status: str


@dataclass(frozen=True)
class EventType:
    """One kind of event. A change that breaks subscribers is a new version."""

    name: str
    version: int
    payload: type[Payload]
    description: str

    def schema(self) -> dict[str, Any]:
        return self.payload.model_json_schema()


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in [
        EventType("customer.created", 1, CustomerPayload, "A customer was added."),
        EventType("customer.updated", 1, CustomerUpdatedPayload, "A customer's details changed."),
        EventType("customer.archived", 1, CustomerPayload, "A customer was archived."),
        EventType("customer_link.created", 1, CustomerLinkPayload, "Staff made (or sent) a customer's hub link."),
        EventType("customer_link.revoked", 1, CustomerLinkPayload, "Staff withdrew a customer's hub link."),
        EventType("customer_link.opened", 1, CustomerLinkPayload, "A customer first opened their hub link."),
        EventType("appointment.booked", 1, AppointmentPayload, "An appointment was booked."),
        EventType("appointment.rescheduled", 1, AppointmentRescheduledPayload, "An appointment moved."),
        EventType(
            "appointment.status_changed",
            1,
            AppointmentStatusChangedPayload,
            "An appointment was confirmed, started, completed or missed (cancelling is appointment.cancelled).",
        ),
        EventType("appointment.cancelled", 1, AppointmentStatusChangedPayload, "An appointment was cancelled."),
        EventType("time_off.created", 1, TimeOffPayload, "A staff member's time off was added."),
        EventType("time_off.updated", 1, TimeOffPayload, "A staff member's time off changed."),
        EventType("time_off.deleted", 1, TimeOffPayload, "A staff member's time off was removed."),
        EventType("closed_day.created", 1, ClosedDayPayload, "The business set days it is closed."),
        EventType("closed_day.updated", 1, ClosedDayPayload, "A closure's days changed."),
        EventType("closed_day.deleted", 1, ClosedDayPayload, "A closure was removed."),
        EventType("appointment_series.created", 1, SeriesPayload, "Recurring visits were set up."),
        EventType(
            "appointment_series.changed",
            1,
            SeriesChangedPayload,
            "Recurring visits changed, all of them or from one visit on (then in a new series split from it).",
        ),
        EventType("appointment_series.ended", 1, SeriesPayload, "Recurring visits were stopped."),
        EventType(
            "appointment_series.occurrence_conflict",
            1,
            SeriesOccurrenceConflictPayload,
            "A visit of a series could not be booked or moved (a clash, time off, a closed day).",
        ),
        EventType(
            "booking.requested",
            1,
            BookingRequestPayload,
            "A customer booked a service online: booked at once (ACCEPTED, with its appointment) or waiting "
            "for staff (PENDING).",
        ),
        EventType(
            "booking.accepted", 1, BookingRequestPayload, "Staff accepted a customer's booking request: it is booked."
        ),
        EventType("booking.declined", 1, BookingDeclinedPayload, "Staff declined a customer's booking request."),
        EventType("work_request.created", 1, WorkRequestPayload, "A customer asked for work through their link."),
        EventType(
            "work_request.converted",
            1,
            WorkRequestConvertedPayload,
            "Staff turned a work request into an appointment or a draft quote.",
        ),
        EventType("work_request.closed", 1, WorkRequestClosedPayload, "Staff closed a work request without work."),
        EventType("quote.sent", 1, QuotePayload, "A quote (or a new version of it) was sent to its customer."),
        EventType("quote.accepted", 1, QuotePayload, "The customer accepted a quote."),
        EventType(
            "quote.options_chosen",
            1,
            QuoteOptionsChosenPayload,
            "The customer chose a quote's optional items; its totals changed.",
        ),
        EventType("quote.declined", 1, QuotePayload, "The customer declined a quote."),
        EventType("quote.expired", 1, QuotePayload, "A sent quote's validity ended."),
        EventType("invoice.sent", 1, InvoicePayload, "An invoice (or a new version of it) was sent."),
        EventType("invoice.paid", 1, InvoicePayload, "An invoice's amount due reached zero."),
        EventType("invoice.overdue", 1, InvoiceOverduePayload, "An unpaid invoice passed its due date."),
        EventType("invoice.cancelled", 1, InvoicePayload, "An invoice was voided."),
        EventType("payment.received", 1, PaymentReceivedPayload, "A payment was recorded against an invoice."),
        EventType("payment.refunded", 1, PaymentRefundedPayload, "A payment was refunded (in part or whole)."),
        EventType("payment.failed", 1, PaymentFailedPayload, "A card payment of an invoice was declined."),
        EventType("payment.disputed", 1, PaymentDisputedPayload, "A card payment was disputed."),
        EventType("sms.received", 1, SmsPayload, "A text came in."),
        EventType("sms.delivery_failed", 1, SmsDeliveryFailedPayload, "A text we sent could not be delivered."),
        EventType("call.ended", 1, CallEndedPayload, "A voice call ended."),
        EventType("member.joined", 1, MemberPayload, "A user became a member of the business."),
        EventType("member.role_changed", 1, MemberRoleChangedPayload, "A member's role changed."),
        EventType("member.removed", 1, MemberPayload, "A member left or was removed."),
        EventType(
            "tenant.status_changed",
            1,
            TenantStatusChangedPayload,
            "The business was suspended (also when its deletion was scheduled) or reactivated.",
        ),
    ]
}


def event_type(name: str) -> EventType:
    """The event type `name`; KeyError for a name the catalogue does not hold."""
    return EVENT_TYPES[name]


def catalogue() -> list[dict[str, Any]]:
    """Every event type with its version, description and payload JSON schema, by name."""
    return [
        {"type": event.name, "version": event.version, "description": event.description, "payload": event.schema()}
        for event in sorted(EVENT_TYPES.values(), key=lambda event: event.name)
    ]
