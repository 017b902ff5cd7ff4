"""Reading provider routes and stored webhook events."""

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from shared_apps.errors import NotFound
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent


def resolve_route(*, provider: str, candidates: Sequence[Sequence[str]]) -> Tenant | None:
    """The tenant owning the first of `candidates` ((kind, external_id) pairs, most specific
    first) that has a route, in one query; None when no tenant owns any of them."""
    wanted = [(kind, external_id) for kind, external_id in candidates if external_id]
    if not wanted:
        return None
    matches = Q()
    for kind, external_id in wanted:
        matches |= Q(kind=kind, external_id=external_id)
    routes = {
        (route.kind, route.external_id): route.tenant
        for route in ProviderRoute.objects.select_related("tenant").filter(matches, provider=provider)
    }
    return next((routes[pair] for pair in wanted if pair in routes), None)


def list_webhook_events(*, status: str | None = None, provider: str | None = None) -> QuerySet[WebhookEvent]:
    """Stored events, newest first, optionally of one status and provider."""
    events = WebhookEvent.objects.order_by("-id")
    if status:
        events = events.filter(status=status)
    if provider:
        events = events.filter(provider=provider)
    return events


def get_webhook_event(*, event_id: int) -> WebhookEvent:
    event = WebhookEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound("Webhook event not found.")
    return event
