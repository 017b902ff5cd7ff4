"""Reading booking requests."""

from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.bookings.models import BookingRequest
from tenant_apps.customers.history import HistoryEntry, HistoryWindow


def list_booking_requests(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[BookingRequest]:
    """Newest first; optionally of one status or one customer."""
    rows = BookingRequest.objects.all()
    if status is not None:
        rows = rows.filter(status=status)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows.order_by("-created_at", "-id")


def get_booking_request(*, booking_request_id: int, customer_id: int | None = None) -> BookingRequest:
    """One request; with `customer_id` only if it is that customer's (else NotFound, as for
    a row that does not exist)."""
    rows = BookingRequest.objects.all()
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    found = rows.filter(pk=booking_request_id).first()
    if found is None:
        raise NotFound("Booking request not found.")
    return found


def get_booking_request_for_update(*, booking_request_id: int) -> BookingRequest:
    found = BookingRequest.objects.select_for_update(no_key=True, of=("self",)).filter(pk=booking_request_id).first()
    if found is None:
        raise NotFound("Booking request not found.")
    return found


def booking_request_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's online bookings as timeline entries, at the time they were asked for."""
    rows = window.rows(BookingRequest.objects.filter(customer_id=customer_id), time_field="created_at").values(
        "id", "service_name", "status", "created_at", "starts_at", "ends_at", "appointment_id", "decline_reason"
    )
    return [
        HistoryEntry(
            kind="booking_request",
            id=row["id"],
            occurred_at=row["created_at"],
            title=f"Booked online: {row['service_name']}",
            status=row["status"],
            data={
                "starts_at": row["starts_at"].isoformat(),
                "ends_at": row["ends_at"].isoformat(),
                "appointment_id": row["appointment_id"],
                "decline_reason": row["decline_reason"] or None,
            },
        )
        for row in rows
    ]
