"""The flows every document kind shares, driven by what its model declares (see
`billing.models.Document`): drafting, editing and deleting drafts, numbering and the PDF.
Each kind's services add their own rules (transitions, defaults) around these."""

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NotRequired, TypedDict, TypeVar

from django.db import transaction

from shared_apps.errors import NotFound, ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.billing.guards import require_deletable, require_editable
from tenant_apps.billing.items import (
    EnteredItem,
    ItemInput,
    apply_totals,
    build_item_rows,
    check_item_limits,
    check_optional_items,
    copy_price_book_items,
    document_currency,
    items_of,
    price_items,
)
from tenant_apps.billing.models import Document
from tenant_apps.billing.numbering import assign_document_number
from tenant_apps.billing.pdfs import delete_stored_pdf, stored_document_pdf
from tenant_apps.billing.queries import get_document, lock_document
from tenant_apps.billing.totals import DocumentTotals
from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import require_customers_property
from tenant_apps.files.services import delete_attachments_of

DocumentT = TypeVar("DocumentT", bound=Document)

# What a draft's PATCH may change besides the kind's own date (`Document.date_field`).
SHARED_EDITABLE_FIELDS = frozenset({"customer_id", "property_id", "currency", "items", "document_discount", "notes"})


class DraftFields(TypedDict):
    """What a new draft of any kind is made of (the kind adds its own date)."""

    customer_id: int
    items: Sequence[EnteredItem]
    property_id: NotRequired[int | None]
    currency: NotRequired[str | None]
    document_discount: NotRequired[int]
    notes: NotRequired[str]
    created_by: NotRequired[int | None]


def editable_fields(model: type[Document]) -> frozenset[str]:
    return SHARED_EDITABLE_FIELDS | {model.date_field}


def require_customer(*, customer_id: int) -> Customer:
    """The customer in the current tenant's schema; another tenant's id is simply absent."""
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.", details=[{"field": "customer_id"}])
    return customer


def create_draft(
    model: type[DocumentT],
    *,
    tenant: Tenant,
    customer_id: int,
    items: Sequence[EnteredItem],
    property_id: int | None = None,
    currency: str | None = None,
    document_discount: int = 0,
    notes: str = "",
    created_by: int | None = None,
    **own_fields: Any,
) -> DocumentT:
    """A DRAFT document (no number yet) of `model`, priced; `own_fields` are the kind's
    (its date). Currency defaults to the tenant's; `property_id` (where the work is) must be
    one of the customer's properties."""
    currency = document_currency(currency, tenant=tenant)
    written = copy_price_book_items(items, currency=currency, tenant=tenant)
    check_item_limits(written)
    check_optional_items(written, allowed=model.allows_optional_items)
    totals = price_items(items=written, currency=currency, document_discount=document_discount)
    with transaction.atomic():
        document = model(
            customer=require_customer(customer_id=customer_id),
            service_property=require_customers_property(customer_id=customer_id, property_id=property_id),
            currency=currency,
            document_discount=document_discount,
            notes=notes,
            created_by=created_by,
            **own_fields,
        )
        save_with_items(document, items=written, totals=totals)
    return document


def save_with_items(document: Document, *, items: Sequence[ItemInput], totals: DocumentTotals) -> None:
    """Insert a new `document` and its item rows, with the figures `totals` computed."""
    apply_totals(document, totals)
    document.save()
    document.item_model().objects.bulk_create(build_item_rows(document=document, items=items, totals=totals))


def update_draft(
    model: type[DocumentT], *, tenant: Tenant, document_id: int, version: int, changes: Mapping[str, Any]
) -> DocumentT:
    """Edit a DRAFT seen at `version`. `changes` holds any of `editable_fields(model)`;
    `items` replaces all line items. Totals are recomputed whenever money inputs change."""
    unknown = set(changes) - editable_fields(model)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    with transaction.atomic():
        document = lock_document(model, document_id=document_id)
        require_editable(document, version=version)
        if "customer_id" in changes:
            document.customer = require_customer(customer_id=changes["customer_id"])
        if "property_id" in changes:
            document.service_property_id = changes["property_id"]
        if {"customer_id", "property_id"} & set(changes):
            require_customers_property(customer_id=document.customer_id, property_id=document.service_property_id)
        if "currency" in changes:
            document.currency = document_currency(changes["currency"], tenant=tenant)
        for field in ("document_discount", "notes", model.date_field):
            if field in changes:
                setattr(document, field, changes[field])
        entered = changes.get("items")
        written = None if entered is None else copy_price_book_items(entered, currency=document.currency, tenant=tenant)
        _reprice(document, items=written)
        document.version += 1
        document.save()
    return document


def _reprice(document: Document, *, items: Sequence[ItemInput] | None) -> None:
    """Recompute totals; new `items` replace the old rows, otherwise the old rows get their
    new figures (a document discount or currency change moves every line)."""
    if items is not None:
        check_item_limits(items)
        check_optional_items(items, allowed=document.allows_optional_items)
    rows = list(document.items.all())
    entered = items if items is not None else items_of(rows)
    totals = price_items(items=entered, currency=document.currency, document_discount=document.document_discount)
    apply_totals(document, totals)
    new_rows = build_item_rows(document=document, items=entered, totals=totals)
    item_model = document.item_model()
    if items is not None:
        document.items.all().delete()
        item_model.objects.bulk_create(new_rows)
        return
    for row, new in zip(rows, new_rows, strict=True):
        row.subtotal, row.tax, row.total = new.subtotal, new.tax, new.total
    item_model.objects.bulk_update(rows, ["subtotal", "tax", "total"])


def choose_optional_items(document: Document, *, selected_ids: Collection[int]) -> bool:
    """Make exactly `selected_ids` the chosen optional items of `document` (locked by the
    caller, in its transaction) and reprice it; an id that is not one of its optional items is
    a 400. Returns whether the choice changed (the caller saves the document then)."""
    # Only kinds that allow optional items have these columns (`Document.allows_optional_items`).
    optional_rows = document.item_model().objects.filter(**{document.item_parent_field(): document, "optional": True})
    optional = dict(optional_rows.values_list("pk", "selected"))
    unknown = set(selected_ids) - set(optional)
    if unknown:
        message = "Not an optional item of this quote."
        raise ValidationFailed(
            message, code="not_optional", details=[{"field": "selected_item_ids", "message": message}]
        )
    changed = {pk for pk, selected in optional.items() if selected != (pk in selected_ids)}
    if not changed:
        return False
    for selected in (True, False):
        ids = [pk for pk in changed if (pk in selected_ids) == selected]
        optional_rows.filter(pk__in=ids).update(selected=selected)
    _reprice(document, items=None)
    return True


def delete_draft(model: type[Document], *, document_id: int) -> None:
    """Delete a DRAFT and its stored PDF; a numbered document is kept (`instead_of_deleting`)."""
    with transaction.atomic():
        document = lock_document(model, document_id=document_id)
        require_deletable(document)
        delete_stored_pdf(document)
        delete_attachments_of(parent_type=model.document_type, parent_id=document.pk)
        document.delete()


def number_document(document: Document, *, tenant: Tenant, now: datetime) -> None:
    """Give `document` its number (in the tenant's local year) and issue it at `now`. Runs in
    the transaction that takes it out of DRAFT (`assign_document_number`)."""
    year = tenant.local_date(now).year
    document.number = assign_document_number(
        document_type=document.document_type, year=year, prefix=document.number_prefix()
    )
    document.issued_at = now


def render_pdf(model: type[Document], *, tenant: Tenant, document_id: int) -> bytes:
    """The document as a PDF (stored once per version once it is numbered)."""
    return stored_document_pdf(get_document(model.objects.all(), document_id=document_id), tenant=tenant)
