"""The rules of the price book: names are unique per kind (whatever their case), only services
have a duration, edits are optimistic. Documents copy an item's figures when they take it
(`billing.items`), so nothing here reaches into a document already written."""

from typing import Any

from django.db import IntegrityError, transaction

from shared_apps.errors import Conflict, StaleVersion, ValidationFailed
from tenant_apps.pricebook import queries
from tenant_apps.pricebook.models import PriceBookItem

EDITABLE_FIELDS = (
    "kind",
    "name",
    "description",
    "unit_price",
    "unit",
    "tax_rate",
    "taxable",
    "active",
    "duration_minutes",
)
# How long a bookable service may take: a quick call-out to a full day.
SERVICE_MINUTES = (5, 24 * 60)


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed("Invalid price book item.", details=[{"field": field, "message": message}])


def _clean(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned = {field: value for field, value in changes.items() if field in EDITABLE_FIELDS}
    for field in ("name", "description", "unit"):
        if field in cleaned:
            cleaned[field] = (cleaned[field] or "").strip()
    if "name" in cleaned and not cleaned["name"]:
        raise _invalid("name", "Must not be blank.")
    minutes = cleaned.get("duration_minutes")
    if minutes is not None and not SERVICE_MINUTES[0] <= minutes <= SERVICE_MINUTES[1]:
        raise _invalid("duration_minutes", f"Between {SERVICE_MINUTES[0]} and {SERVICE_MINUTES[1]} minutes.")
    return cleaned


def _check(item: PriceBookItem) -> None:
    if item.kind != PriceBookItem.Kind.SERVICE and item.duration_minutes is not None:
        raise _invalid("duration_minutes", "Only services have a duration.")


def _save(item: PriceBookItem, **save: Any) -> None:
    """Save, answering a name already used by an item of the same kind with 409."""
    try:
        with transaction.atomic():
            item.save(**save)
    except IntegrityError as error:
        if "pricebook_item_name_uniq" not in str(error):
            raise
        raise Conflict(
            f"The price book already has a {item.kind} named {item.name!r}.",
            code="duplicate_name",
            details=[{"field": "name"}],
        ) from None


def create_price_book_item(*, data: dict[str, Any]) -> PriceBookItem:
    """A new service or material."""
    item = PriceBookItem(**_clean(data))
    _check(item)
    _save(item)
    return item


def update_price_book_item(*, item_id: int, changes: dict[str, Any], version: int) -> PriceBookItem:
    """Apply `changes`, refusing (StaleVersion) if someone saved since `version` was read.
    Documents that took the item keep the figures they copied."""
    cleaned = _clean(changes)
    with transaction.atomic():
        item = queries.get_price_book_item_for_update(item_id=item_id)
        if version != item.version:
            raise StaleVersion(current_version=item.version)
        if not cleaned:
            return item
        for field, value in cleaned.items():
            setattr(item, field, value)
        _check(item)
        item.version += 1
        _save(item, update_fields=[*cleaned, "version", "updated_at"])
    return item


def delete_price_book_item(*, item_id: int) -> None:
    """Remove an item; documents that took it keep their copies. (Deactivate it to keep it
    out of new documents and bookings while keeping its name.)"""
    queries.get_price_book_item(item_id=item_id).delete()
