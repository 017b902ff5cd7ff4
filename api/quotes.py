"""Quotes: drafting, sending, decisions, conversion to an invoice, PDF."""

from datetime import date
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router
from ninja.pagination import paginate

from api.auth import ApiRequest, member
from api.documents import DocumentIn, DocumentOut, DocumentPatch, InvoiceOut, pdf_response
from api.idempotency import idempotent
from api.schemas import OMITTED, RowId, StorableSchema, StrictSchema
from tenant_apps.invoices import services as invoice_services
from tenant_apps.quotes import queries, services
from tenant_apps.quotes.models import Quote

router = Router(tags=["quotes"])

QuoteStatus = Literal["DRAFT", "SENT", "ACCEPTED", "REJECTED", "EXPIRED"]


class QuoteOut(DocumentOut):
    valid_until: date
    invoice_id: int | None

    @staticmethod
    def resolve_invoice_id(quote: Quote) -> int | None:
        invoice = getattr(quote, "invoice", None)
        return invoice.pk if invoice is not None else None


class QuoteIn(DocumentIn):
    valid_until: date | None = None


class QuotePatch(DocumentPatch):
    valid_until: date = OMITTED


class QuoteStatusIn(StrictSchema):
    status: QuoteStatus


class QuoteFilters(StorableSchema):
    status: QuoteStatus | None = None
    customer_id: int | None = None


@router.get("", response=list[QuoteOut], auth=member)
@paginate
def list_quotes(request: HttpRequest, filters: Query[QuoteFilters]):
    return queries.list_quotes(status=filters.status, customer_id=filters.customer_id)


@router.post("", response={201: QuoteOut}, auth=member)
@idempotent
def create_quote(request: ApiRequest, payload: QuoteIn):
    quote = services.create_quote(
        tenant=request.auth.tenant, created_by=request.auth.user_id, **payload.service_fields()
    )
    return 201, quote


@router.get("/{quote_id}", response=QuoteOut, auth=member)
def get_quote(request: HttpRequest, quote_id: RowId):
    return queries.get_quote(quote_id=quote_id)


@router.patch("/{quote_id}", response=QuoteOut, auth=member)
def update_quote(request: ApiRequest, quote_id: RowId, payload: QuotePatch):
    """Edit a draft; `version` must be the one you read (409 when stale). `items` replaces all items."""
    return services.update_quote(
        tenant=request.auth.tenant, quote_id=quote_id, version=payload.version, changes=payload.document_changes()
    )


@router.delete("/{quote_id}", response={204: None}, auth=member)
def delete_quote(request: HttpRequest, quote_id: RowId):
    """Deletes a draft; a numbered quote answers 409 (reject it instead)."""
    services.delete_quote(quote_id=quote_id)
    return 204, None


@router.patch("/{quote_id}/status", response=QuoteOut, auth=member)
def change_quote_status(request: ApiRequest, quote_id: RowId, payload: QuoteStatusIn):
    """DRAFT -> SENT (numbers it) -> ACCEPTED / REJECTED; illegal moves answer 409 with the
    allowed ones; accepting after the end of `valid_until` answers 409 and expires the quote."""
    return services.change_quote_status(tenant=request.auth.tenant, quote_id=quote_id, status=payload.status)


@router.post("/{quote_id}/convert", response={201: InvoiceOut}, auth=member)
@idempotent
def convert_quote(request: ApiRequest, quote_id: RowId):
    """The accepted quote's one invoice (a draft); again: 409 `already_converted` with its id."""
    invoice = invoice_services.convert_quote_to_invoice(
        tenant=request.auth.tenant, quote_id=quote_id, created_by=request.auth.user_id
    )
    return 201, invoice


@router.get("/{quote_id}/pdf", auth=member)
def quote_pdf(request: ApiRequest, quote_id: RowId) -> HttpResponse:
    content = services.render_quote_pdf(tenant=request.auth.tenant, quote_id=quote_id)
    return pdf_response(content, filename=f"quote-{quote_id}.pdf")
