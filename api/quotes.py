"""Quotes: drafting, sending, decisions, conversion to an invoice, PDF."""

from datetime import date, datetime
from typing import Literal

from ninja import Router
from pydantic import Field

from api.auth import ApiRequest, member
from api.documents import (
    EXAMPLE_DOCUMENT_IN,
    EXAMPLE_DOCUMENT_OUT,
    DocumentIn,
    DocumentOut,
    DocumentPatch,
    InvoiceOut,
    add_draft_routes,
)
from api.idempotency import idempotent
from api.schemas import OMITTED, RowId, StorableSchema, StrictSchema, example
from tenant_apps.invoices import services as invoice_services
from tenant_apps.quotes import queries, services
from tenant_apps.quotes.models import Quote

router = Router(tags=["quotes"])

QuoteStatus = Literal["DRAFT", "SENT", "ACCEPTED", "REJECTED", "EXPIRED"]


class QuoteOut(DocumentOut):
    model_config = example(
        **EXAMPLE_DOCUMENT_OUT, number="Q-2026-0001", status="SENT", valid_until="2026-03-31", invoice_id=None
    )
    status: QuoteStatus
    valid_until: date
    invoice_id: int | None
    decided_at: datetime | None
    decided_by_name: str = Field(description="The name the customer typed when answering through their hub link.")
    decided_from_ip: str | None = Field(description="Where the customer's answer came from.")
    decided_user_agent: str = Field(description="The browser the customer answered with.")
    decline_reason: str = Field(description="Why the customer declined, if they said.")

    @staticmethod
    def resolve_invoice_id(quote: Quote) -> int | None:
        invoice = getattr(quote, "invoice", None)
        return invoice.pk if invoice is not None else None


class QuoteIn(DocumentIn):
    model_config = example(**EXAMPLE_DOCUMENT_IN, valid_until="2026-03-31")
    valid_until: date | None = None


class QuotePatch(DocumentPatch):
    valid_until: date = OMITTED


class QuoteStatusIn(StrictSchema):
    status: QuoteStatus


class QuoteFilters(StorableSchema):
    status: QuoteStatus | None = Field(default=None, description="Only those in this status.")
    customer_id: int | None = None


add_draft_routes(
    router,
    kind="quote",
    out=QuoteOut,
    create_in=QuoteIn,
    patch_in=QuotePatch,
    filters=QuoteFilters,
    list_documents=queries.list_quotes,
    get_document=queries.get_quote,
    create_document=services.create_quote,
    update_document=services.update_quote,
    delete_document=services.delete_quote,
    render_pdf=services.render_quote_pdf,
    instead_of_deleting="reject it instead",
)


@router.patch("/{quote_id}/status", response=QuoteOut, auth=member)
def change_quote_status(request: ApiRequest, quote_id: RowId, payload: QuoteStatusIn):
    """DRAFT -> SENT (numbers it) -> ACCEPTED / REJECTED; illegal moves answer 409 with the
    allowed ones; accepting after the end of `valid_until` answers 409 and expires the quote."""
    return services.change_quote_status(tenant=request.auth.tenant, quote_id=quote_id, status=payload.status)


class ConvertIn(StrictSchema):
    notes: str | None = Field(
        default=None,
        max_length=10000,
        description="The invoice's notes instead of the quote's (`\"\"`: none); absent: the quote's are copied.",
    )


@router.post("/{quote_id}/convert", response={201: InvoiceOut}, auth=member)
@idempotent
def convert_quote(request: ApiRequest, quote_id: RowId, payload: ConvertIn | None = None):
    """The accepted quote's one invoice (a draft) with its customer, items, discount and notes
    (unless `notes` is given); again: 409 `already_converted` with its id. The body is optional."""
    invoice = invoice_services.convert_quote_to_invoice(
        tenant=request.auth.tenant,
        quote_id=quote_id,
        created_by=request.auth.user_id,
        notes=payload.notes if payload is not None else None,
    )
    return 201, invoice
