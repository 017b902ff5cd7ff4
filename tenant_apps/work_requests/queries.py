"""Reading work requests."""

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from shared_apps.errors import NotFound
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.files.models import Attachment
from tenant_apps.work_requests.models import WorkRequest


def _ready_photos() -> QuerySet[Attachment]:
    return Attachment.objects.filter(parent_type=Attachment.Parent.WORK_REQUEST, status=Attachment.Status.READY)


def _with_photo_count(rows: QuerySet[WorkRequest]) -> QuerySet[WorkRequest]:
    """`photo_count` on each row, in the same query."""
    counts = _ready_photos().filter(parent_id=OuterRef("pk")).values("parent_id").annotate(n=Count("id")).values("n")
    return rows.annotate(photo_count=Coalesce(Subquery(counts), 0))


def list_work_requests(*, status: str | None = None, customer_id: int | None = None) -> QuerySet[WorkRequest]:
    """Newest first, with the property and `photo_count`; optionally of one status or one
    customer."""
    rows = _with_photo_count(WorkRequest.objects.select_related("service_property"))
    if status is not None:
        rows = rows.filter(status=status)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows.order_by("-created_at", "-id")


def get_work_request(*, work_request_id: int, customer_id: int | None = None) -> WorkRequest:
    """One request with its property and `photo_count`; with `customer_id` only if it is that
    customer's (else NotFound)."""
    rows = _with_photo_count(WorkRequest.objects.select_related("service_property"))
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    found = rows.filter(pk=work_request_id).first()
    if found is None:
        raise NotFound("Work request not found.")
    return found


def get_work_request_for_update(*, work_request_id: int) -> WorkRequest:
    found = WorkRequest.objects.select_for_update(no_key=True, of=("self",)).filter(pk=work_request_id).first()
    if found is None:
        raise NotFound("Work request not found.")
    return found


def photos_of(*, work_request_ids: list[int]) -> dict[int, list[Attachment]]:
    """The ready photos of these requests, oldest first, by request id, in one query."""
    found: dict[int, list[Attachment]] = {request_id: [] for request_id in work_request_ids}
    rows = _ready_photos().filter(parent_id__in=work_request_ids).order_by("created_at", "id")
    for attachment in rows:
        found[attachment.parent_id].append(attachment)
    return found


def work_request_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's work requests as timeline entries, when they were made."""
    rows = window.rows(WorkRequest.objects.filter(customer_id=customer_id), time_field="created_at").values(
        "id",
        "description",
        "status",
        "created_at",
        "service_property_id",
        "preferred_times",
        "appointment_id",
        "quote_id",
    )
    return [
        HistoryEntry(
            kind="work_request",
            id=row["id"],
            occurred_at=row["created_at"],
            title=f"Work requested: {row['description'][:80]}",
            status=row["status"],
            data={
                "property_id": row["service_property_id"],
                "preferred_times": row["preferred_times"] or None,
                "appointment_id": row["appointment_id"],
                "quote_id": row["quote_id"],
            },
        )
        for row in rows
    ]
