"""Reading a business's webhook endpoints and their delivery log."""

from django.db.models import Prefetch, QuerySet

from shared_apps.errors import NotFound, ValidationFailed
from tenant_apps.integrations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def list_endpoints() -> QuerySet[WebhookEndpoint]:
    """Newest first."""
    return WebhookEndpoint.objects.order_by("-id")


def get_endpoint(*, endpoint_id: int) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def get_endpoint_for_update(*, endpoint_id: int) -> WebhookEndpoint:
    """Lock the endpoint row for the caller's transaction."""
    endpoint = WebhookEndpoint.objects.select_for_update(no_key=True).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise NotFound("Webhook endpoint not found.")
    return endpoint


def get_delivery(*, endpoint_id: int, delivery_id: int) -> WebhookDelivery:
    delivery = (
        WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id, endpoint_id=endpoint_id).first()
    )
    if delivery is None:
        raise NotFound("Delivery not found.")
    return delivery


def _cursor_id(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    if not cursor.isdigit() or len(cursor) > 19:
        raise ValidationFailed("Invalid cursor.", details=[{"field": "cursor", "message": "Invalid cursor."}])
    return int(cursor)


def deliveries_page(
    *, endpoint_id: int, limit: int, cursor: str | None = None, status: str | None = None
) -> tuple[list[WebhookDelivery], str | None]:
    """One keyset page of the endpoint's deliveries, newest first, each with its attempts
    (newest first): two queries whatever the page size, and a page deep in the log costs what
    the first does. Returns the rows and the cursor of the next page (None on the last)."""
    get_endpoint(endpoint_id=endpoint_id)
    rows = WebhookDelivery.objects.filter(endpoint_id=endpoint_id)
    before = _cursor_id(cursor)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    if status:
        if status not in WebhookDelivery.Status.values:
            message = f"Must be one of {', '.join(WebhookDelivery.Status.values)}."
            raise ValidationFailed(message, details=[{"field": "status", "message": message}])
        rows = rows.filter(status=status)
    page = list(
        rows.order_by("-id").prefetch_related(
            Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("-attempted_at", "-id"))
        )[: limit + 1]
    )
    next_cursor = str(page[limit - 1].pk) if len(page) > limit else None
    return page[:limit], next_cursor
