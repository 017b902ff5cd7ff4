"""Line items and draft fields for tests of either document kind."""

from decimal import Decimal
from typing import Any

from tenant_apps.billing.items import ItemInput
from tests.factories import CustomerFactory


def item(**overrides: Any) -> ItemInput:
    """One line: 2 x 19.99 at 8.25 % unless told otherwise."""
    values: dict[str, Any] = {
        "description": "Labour",
        "quantity": Decimal("2"),
        "unit_price": 1999,
        "tax_rate": Decimal("8.25"),
        "discount": 0,
    }
    return ItemInput(**(values | overrides))


def draft_fields(**overrides: Any) -> dict[str, Any]:
    """A new draft's fields: one `item()` for a new customer unless told otherwise."""
    values: dict[str, Any] = {"items": [item()]}
    if "customer_id" not in overrides:
        values["customer_id"] = CustomerFactory().pk
    return values | overrides
