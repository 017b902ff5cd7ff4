"""What quotes and invoices share: line items in and out, the common document fields, the
invoice as printed (a converted quote answers with it), the PDF response and the draft routes."""

import inspect
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field, model_validator

from api.auth import ApiRequest, member
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, PatchSchema, RowId, StrictSchema, enum_of, example
from tenant_apps.billing.items import (
    MAX_DESCRIPTION_CHARS,
    MAX_DESCRIPTION_LINES,
    MAX_ITEMS,
    EnteredItem,
    ItemInput,
    PriceBookItemInput,
)
from tenant_apps.billing.models import Document
from tenant_apps.billing.totals import MAX_AMOUNT
from tenant_apps.invoices.models import Invoice


def decimal_text(value: Decimal) -> str:
    """A decimal as a plain JSON string without storage padding: 1.500000 -> "1.5"."""
    return format(value.normalize(), "f")


class ItemIn(StrictSchema):
    """A line as entered, or taken from the price book (`price_book_item_id`): then the
    item's name, unit price and tax rate are copied unless given here."""

    price_book_item_id: RowId | None = Field(
        default=None, description="Copy this price book item's name, price and tax rate into the line."
    )
    description: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DESCRIPTION_CHARS,
        description=f"At most {MAX_DESCRIPTION_CHARS} characters and {MAX_DESCRIPTION_LINES} lines; "
        "required without `price_book_item_id`.",
    )
    quantity: Decimal = Field(ge=0, max_digits=20, decimal_places=6)
    unit_price: int | None = Field(
        default=None, ge=0, le=MAX_AMOUNT, description="Required without `price_book_item_id`."
    )
    tax_rate: Decimal | None = Field(default=None, ge=0, max_digits=9, decimal_places=4, description="Default 0.")
    discount: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    optional: bool = Field(
        default=False, description="Quotes only: the customer chooses whether to take it (their hub link)."
    )
    selected: bool | None = Field(
        default=None, description="Whether an optional item counts in the totals until they choose (default: not)."
    )

    @model_validator(mode="after")
    def _priced(self) -> "ItemIn":
        if self.price_book_item_id is None and (self.description is None or self.unit_price is None):
            raise ValueError("description and unit_price are required without price_book_item_id")
        return self

    @property
    def counted(self) -> bool:
        """Whether the line counts in the totals: always, unless optional and not preselected."""
        return self.selected if self.selected is not None else not self.optional

    def to_input(self) -> EnteredItem:
        if self.price_book_item_id is not None:
            return PriceBookItemInput(
                price_book_item_id=self.price_book_item_id,
                quantity=self.quantity,
                discount=self.discount,
                description=self.description,
                unit_price=self.unit_price,
                tax_rate=self.tax_rate,
                optional=self.optional,
                selected=self.counted,
            )
        assert self.description is not None and self.unit_price is not None  # _priced
        return ItemInput(
            description=self.description,
            quantity=self.quantity,
            unit_price=self.unit_price,
            tax_rate=self.tax_rate if self.tax_rate is not None else Decimal(0),
            discount=self.discount,
            optional=self.optional,
            selected=self.counted,
        )


class ItemOut(Schema):
    id: int
    description: str
    quantity: str
    unit_price: int
    tax_rate: str
    discount: int
    subtotal: int
    tax: int
    total: int
    optional: bool = Field(description="A quote's optional item: counted in the totals only while selected.")
    selected: bool

    @staticmethod
    def resolve_optional(item) -> bool:
        return getattr(item, "optional", False)  # invoice items never are

    @staticmethod
    def resolve_selected(item) -> bool:
        return getattr(item, "selected", True)

    @staticmethod
    def resolve_quantity(item) -> str:
        return decimal_text(item.quantity)

    @staticmethod
    def resolve_tax_rate(item) -> str:
        return decimal_text(item.tax_rate)


EXAMPLE_ITEM = {
    "description": "Replace kitchen faucet",
    "quantity": "1",
    "unit_price": 12750,
    "tax_rate": "8.25",
    "discount": 0,
}
EXAMPLE_DOCUMENT_IN = {
    "customer_id": 42,
    "property_id": 5,
    "currency": "usd",
    "items": [EXAMPLE_ITEM],
    "document_discount": 0,
    "notes": "Parts included.",
}
EXAMPLE_DOCUMENT_OUT = {
    "id": 12,
    "customer_id": 42,
    "property_id": 5,
    "currency": "usd",
    "items": [{"id": 31, **EXAMPLE_ITEM, "subtotal": 12750, "tax": 1052, "total": 13802}],
    "subtotal": 12750,
    "discount_total": 0,
    "tax_total": 1052,
    "total": 13802,
    "document_discount": 0,
    "notes": "Parts included.",
    "issued_at": "2026-03-02T15:00:00Z",
    "version": 2,
    "created_at": "2026-03-02T14:30:00Z",
    "updated_at": "2026-03-02T15:00:00Z",
}


class DocumentOut(Schema):
    id: int
    number: str | None
    customer_id: int
    property_id: int | None = Field(description="The customer's property where the work is.")
    status: str
    currency: str
    items: list[ItemOut]
    subtotal: int
    discount_total: int
    tax_total: int
    total: int
    document_discount: int
    notes: str
    issued_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_property_id(document: Document) -> int | None:
        return document.service_property_id


class DocumentIn(StrictSchema):
    customer_id: int
    property_id: RowId | None = Field(default=None, description="One of the customer's properties: where the work is.")
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    items: list[ItemIn] = Field(default_factory=list, max_length=MAX_ITEMS)
    document_discount: int = Field(default=0, ge=0, le=MAX_AMOUNT)
    notes: str = Field(default="", max_length=10000)

    def service_fields(self) -> dict:
        fields = self.model_dump(exclude={"items"})
        fields["items"] = [item.to_input() for item in self.items]
        return fields


class DocumentPatch(PatchSchema):
    """Only the fields sent change."""

    version: int
    customer_id: int = OMITTED
    property_id: RowId | None = Field(default=None, description="`null`: none.")
    currency: str = Field(default=OMITTED, min_length=3, max_length=3)
    items: list[ItemIn] = Field(default=OMITTED, max_length=MAX_ITEMS)
    document_discount: int = Field(default=OMITTED, ge=0, le=MAX_AMOUNT)
    notes: str = Field(default=OMITTED, max_length=10000)

    def document_changes(self) -> dict:
        changes = self.changes(exclude={"version", "items"})
        if "items" in self.model_fields_set:
            changes["items"] = [item.to_input() for item in self.items]
        return changes


class InvoiceOut(DocumentOut):
    model_config = example(
        **EXAMPLE_DOCUMENT_OUT,
        number="INV-2026-0001",
        status="PARTIALLY_PAID",
        due_date="2026-04-01",
        amount_paid=5000,
        amount_due=8802,
        credit=0,
        disputed_at=None,
        quote_id=9,
    )
    status: Annotated[str, enum_of(Invoice.Status)]
    due_date: date
    amount_paid: int
    amount_due: int
    credit: int = Field(description="Paid beyond the total (a card payment after cash covered it).")
    disputed_at: datetime | None
    quote_id: int | None


PDF_RESPONSE = {
    "description": "The PDF document.",
    "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
}


def pdf_response(content: bytes, *, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def add_draft_routes(
    router: Router,
    *,
    kind: str,
    out: type[DocumentOut],
    create_in: type[DocumentIn],
    patch_in: type[DocumentPatch],
    filters: type[Schema],
    list_documents: Callable[..., Any],
    get_document: Callable[..., Any],
    create_document: Callable[..., Any],
    update_document: Callable[..., Any],
    delete_document: Callable[..., Any],
    render_pdf: Callable[..., bytes],
    instead_of_deleting: str,
) -> None:
    """Register list, create, get, update, delete and PDF of one document kind ("quote",
    "invoice") on its router. The path parameter and the services' id keyword are both
    `<kind>_id`; the views keep the names a module would declare by hand (`create_quote`)."""
    id_name = f"{kind}_id"
    document_path = f"/{{{id_name}}}"

    def view(name: str, run: Callable[..., Any], **params: Any) -> Callable[..., Any]:
        run.__name__ = run.__qualname__ = name
        run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HttpRequest)]
            + [
                inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, annotation=annotation)
                for param, annotation in params.items()
            ]
        )
        return run

    def operation(description: str) -> dict[str, Any]:
        return {"auth": member, "description": description}

    def list_view(request: HttpRequest, *, filters: Any) -> Any:
        return list_documents(status=filters.status, customer_id=filters.customer_id)

    def create_view(request: ApiRequest, *, payload: DocumentIn) -> tuple[int, Any]:
        document = create_document(
            tenant=request.auth.tenant, created_by=request.auth.user_id, **payload.service_fields()
        )
        return 201, document

    def get_view(request: HttpRequest, **document_id: int) -> Any:
        return get_document(**document_id)

    def update_view(request: ApiRequest, *, payload: DocumentPatch, **document_id: int) -> Any:
        return update_document(
            tenant=request.auth.tenant, version=payload.version, changes=payload.document_changes(), **document_id
        )

    def delete_view(request: HttpRequest, **document_id: int) -> tuple[int, None]:
        delete_document(**document_id)
        return 204, None

    def pdf_view(request: ApiRequest, **document_id: int) -> HttpResponse:
        content = render_pdf(tenant=request.auth.tenant, **document_id)
        return pdf_response(content, filename=f"{kind}-{document_id[id_name]}.pdf")

    name = f"list_{kind}s"
    # The schemas are values here, which a type checker does not take inside brackets.
    router.get("", response=list[out], **operation(f"The {kind}s, newest first; filter by status or customer."))(  # type: ignore[valid-type]
        paginate(view(name, list_view, filters=Query[filters]))  # type: ignore[misc, valid-type]
    )
    name = f"create_{kind}"
    description = f"A draft {kind}: totals are computed per line (rounded half-up); the number comes when it is sent."
    router.post("", response={201: out}, **operation(description))(
        idempotent(view(name, create_view, payload=create_in))
    )
    name = f"get_{kind}"
    router.get(document_path, response=out, **operation(f"One {kind}, with its items and totals."))(
        view(name, get_view, **{id_name: RowId})
    )
    name = f"update_{kind}"
    router.patch(
        document_path,
        response=out,
        **operation("Edit a draft; `version` must be the one you read (409 when stale). `items` replaces all items."),
    )(view(name, update_view, **{id_name: RowId, "payload": patch_in}))
    name = f"delete_{kind}"
    router.delete(
        document_path,
        response={204: None},
        **operation(f"Deletes a draft; a numbered {kind} answers 409 ({instead_of_deleting})."),
    )(view(name, delete_view, **{id_name: RowId}))
    name = f"{kind}_pdf"
    router.get(
        f"{document_path}/pdf",
        openapi_extra={"responses": {200: PDF_RESPONSE}},
        **operation(f"The {kind} as a PDF, with the business's contact details."),
    )(view(name, pdf_view, **{id_name: RowId}))
