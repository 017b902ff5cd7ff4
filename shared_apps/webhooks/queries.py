"""Reading provider routes and stored webhook events."""

from collections.abc import Sequence

from django.db.models import Q, QuerySet

from shared_apps.errors import NotFound
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent


def route_owners(*, provider: str, candidates: Sequence[Sequence[str]]) -> dict[tuple[str, str], Tenant]:
    """The tenant owning each of `candidates` ((kind, external_id) pairs) that has a route,
    in one query."""
    wanted = [(kind, external_id) for kind, external_id in candidates if external_id]
    if not wanted:
        return {}
    matches = Q()
    for kind, external_id in wanted:
        matches |= Q(kind=kind, external_id=external_id)
    return {
        (route.kind, route.external_id): route.tenant
        for route in ProviderRoute.objects.select_related("tenant").filter(matches, provider=provider)
    }


def first_owner(*, owners: dict[tuple[str, str], Tenant], candidates: Sequence[Sequence[str]]) -> Tenant | None:
    """The owner of the first candidate (most specific first) that has one."""
    return next(
        (owners[(kind, external_id)] for kind, external_id in candidates if (kind, external_id) in owners), None
    )


def resolve_route(*, provider: str, candidates: Sequence[Sequence[str]]) -> Tenant | None:
    """The tenant owning the first of `candidates` ((kind, external_id) pairs, most specific
    first) that has a route, in one query; None when no tenant owns any of them."""
    return first_owner(owners=route_owners(provider=provider, candidates=candidates), candidates=candidates)


def owns_route(*, tenant_id: int, provider: str, kind: str, external_id: str) -> bool:
    """Whether the tenant holds this provider id (one query)."""
    return ProviderRoute.objects.filter(
        tenant_id=tenant_id, provider=provider, kind=kind, external_id=external_id
    ).exists()


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
