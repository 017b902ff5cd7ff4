"""Reading the price book."""

from django.db.models import Q, QuerySet

from shared_apps.errors import NotFound
from tenant_apps.pricebook.models import PriceBookItem


def list_price_book_items(
    *, kind: str | None = None, active: bool | None = None, search: str = ""
) -> QuerySet[PriceBookItem]:
    """Services, then materials, by name; optionally of one kind, active or not, or whose name
    or description holds `search` (case-insensitive)."""
    items = PriceBookItem.objects.all()
    if kind is not None:
        items = items.filter(kind=kind)
    if active is not None:
        items = items.filter(active=active)
    search = search.strip()
    if search:
        items = items.filter(Q(name__icontains=search) | Q(description__icontains=search))
    return items.order_by("-kind", "name", "id")  # "service" sorts after "material"


def get_price_book_item(*, item_id: int, field: str | None = None) -> PriceBookItem:
    """One item; 404 (naming `field` when the id came in a body) when it is not this business's."""
    item = PriceBookItem.objects.filter(pk=item_id).first()
    if item is None:
        raise NotFound("Price book item not found.", details=[{"field": field}] if field else None)
    return item


def get_price_book_item_for_update(*, item_id: int) -> PriceBookItem:
    """Lock the item for the caller's transaction."""
    item = PriceBookItem.objects.select_for_update(no_key=True, of=("self",)).filter(pk=item_id).first()
    if item is None:
        raise NotFound("Price book item not found.")
    return item


def bookable_services() -> QuerySet[PriceBookItem]:
    """The active services with a duration: what callers and online booking may book."""
    return PriceBookItem.objects.filter(
        kind=PriceBookItem.Kind.SERVICE, active=True, duration_minutes__isnull=False
    ).order_by("name", "id")
