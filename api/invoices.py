"""Invoices: drafting, sending, cancelling, manual payments, PDF."""

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from api.auth import ApiRequest, member
from api.documents import MAX_AMOUNT, DocumentIn, DocumentPatch, InvoiceOut, pdf_response
from api.idempotency import idempotent
from api.schemas import OMITTED, InstantIn, RowId, StorableSchema, StrictSchema
from tenant_apps.invoices import queries, services
from tenant_apps.payments import services as payment_services

router = Router(tags=["invoices"])

InvoiceStatus = Literal["DRAFT", "SENT", "PARTIALLY_PAID", "PAID", "OVERDUE", "CANCELLED"]


class InvoiceIn(DocumentIn):
    due_date: date | None = None


class InvoicePatch(DocumentPatch):
    due_date: date = OMITTED


class InvoiceStatusIn(StrictSchema):
    status: InvoiceStatus


class InvoiceFilters(StorableSchema):
    status: InvoiceStatus | None = None
    customer_id: int | None = None


class PaymentIn(StrictSchema):
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    method: Literal["cash", "check", "bank_transfer", "other"]
    reference: str = Field(default="", max_length=200)
    occurred_at: InstantIn | None = None


class PaymentOut(Schema):
    id: int
    invoice_id: int
    kind: str
    amount: int
    currency: str
    method: str
    reference: str
    provider: str
    occurred_at: datetime
    recorded_by: int | None
    created_at: datetime


class PaymentRecordedOut(Schema):
    payment: PaymentOut
    invoice: InvoiceOut


@router.get("", response=list[InvoiceOut], auth=member)
@paginate
def list_invoices(request: HttpRequest, filters: Query[InvoiceFilters]):
    return queries.list_invoices(status=filters.status, customer_id=filters.customer_id)


@router.post("", response={201: InvoiceOut}, auth=member)
@idempotent
def create_invoice(request: ApiRequest, payload: InvoiceIn):
    invoice = services.create_invoice(
        tenant=request.auth.tenant, created_by=request.auth.user_id, **payload.service_fields()
    )
    return 201, invoice


@router.get("/{invoice_id}", response=InvoiceOut, auth=member)
def get_invoice(request: HttpRequest, invoice_id: RowId):
    return queries.get_invoice(invoice_id=invoice_id)


@router.patch("/{invoice_id}", response=InvoiceOut, auth=member)
def update_invoice(request: ApiRequest, invoice_id: RowId, payload: InvoicePatch):
    """Edit a draft; `version` must be the one you read (409 when stale). `items` replaces all items."""
    return services.update_invoice(
        tenant=request.auth.tenant, invoice_id=invoice_id, version=payload.version, changes=payload.document_changes()
    )


@router.delete("/{invoice_id}", response={204: None}, auth=member)
def delete_invoice(request: HttpRequest, invoice_id: RowId):
    """Deletes a draft; a numbered invoice answers 409 (cancel it instead)."""
    services.delete_invoice(invoice_id=invoice_id)
    return 204, None


@router.patch("/{invoice_id}/status", response=InvoiceOut, auth=member)
def change_invoice_status(request: ApiRequest, invoice_id: RowId, payload: InvoiceStatusIn):
    """DRAFT -> SENT (numbers it); SENT/OVERDUE -> CANCELLED. PARTIALLY_PAID and PAID follow
    payments, OVERDUE the due date: asking for them answers 409 with the allowed moves."""
    return services.change_invoice_status(tenant=request.auth.tenant, invoice_id=invoice_id, status=payload.status)


@router.get("/{invoice_id}/payments", response=list[PaymentOut], auth=member)
@paginate
def list_invoice_payments(request: HttpRequest, invoice_id: RowId):
    return payment_services.list_invoice_payments(invoice_id=invoice_id)


@router.post("/{invoice_id}/payments", response={201: PaymentRecordedOut}, auth=member)
@idempotent
def record_payment(request: ApiRequest, invoice_id: RowId, payload: PaymentIn):
    """Money received outside the card provider; more than the amount due answers 409."""
    payment = payment_services.record_manual_payment(
        invoice_id=invoice_id, recorded_by=request.auth.user_id, **payload.model_dump()
    )
    return 201, {"payment": payment, "invoice": payment.invoice}


@router.get("/{invoice_id}/pdf", auth=member)
def invoice_pdf(request: ApiRequest, invoice_id: RowId) -> HttpResponse:
    content = services.render_invoice_pdf(tenant=request.auth.tenant, invoice_id=invoice_id)
    return pdf_response(content, filename=f"invoice-{invoice_id}.pdf")
