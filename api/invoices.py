"""Invoices: drafting, sending, cancelling, manual payments, PDF."""

from datetime import date, datetime
from typing import Annotated, Literal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, member
from api.documents import MAX_AMOUNT, DocumentIn, DocumentPatch, InvoiceOut, add_draft_routes
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, InstantIn, RowId, StorableSchema, StrictSchema, enum_of
from tenant_apps.invoices import queries, services
from tenant_apps.payments import intents, pay_links
from tenant_apps.payments import services as payment_services
from tenant_apps.payments.models import Payment

router = Router(tags=["invoices"])

InvoiceStatus = Literal["DRAFT", "SENT", "PARTIALLY_PAID", "PAID", "OVERDUE", "CANCELLED"]


class InvoiceIn(DocumentIn):
    due_date: date | None = None


class InvoicePatch(DocumentPatch):
    due_date: date = OMITTED


class InvoiceStatusIn(StrictSchema):
    status: InvoiceStatus


class InvoiceFilters(StorableSchema):
    status: InvoiceStatus | None = Field(default=None, description="Only those in this status.")
    customer_id: int | None = None


class PaymentIn(StrictSchema):
    amount: int = Field(gt=0, le=MAX_AMOUNT)
    method: Literal["cash", "check", "bank_transfer", "other"]
    reference: str = Field(default="", max_length=200)
    occurred_at: InstantIn | None = None


class PaymentOut(Schema):
    id: int
    invoice_id: int
    kind: Annotated[str, enum_of(Payment.Kind)]
    amount: int
    currency: str
    method: Annotated[str, enum_of(Payment.Method)]
    reference: str
    provider: str
    occurred_at: datetime
    recorded_by: int | None
    created_at: datetime


class PaymentRecordedOut(Schema):
    payment: PaymentOut
    invoice: InvoiceOut


add_draft_routes(
    router,
    kind="invoice",
    out=InvoiceOut,
    create_in=InvoiceIn,
    patch_in=InvoicePatch,
    filters=InvoiceFilters,
    list_documents=queries.list_invoices,
    get_document=queries.get_invoice,
    create_document=services.create_invoice,
    update_document=services.update_invoice,
    delete_document=services.delete_invoice,
    render_pdf=services.render_invoice_pdf,
    instead_of_deleting="cancel it instead",
)


@router.patch("/{invoice_id}/status", response=InvoiceOut, auth=member)
def change_invoice_status(request: ApiRequest, invoice_id: RowId, payload: InvoiceStatusIn):
    """DRAFT -> SENT (numbers it); SENT/OVERDUE -> CANCELLED. PARTIALLY_PAID and PAID follow
    payments, OVERDUE the due date: asking for them answers 409 with the allowed moves."""
    return services.change_invoice_status(tenant=request.auth.tenant, invoice_id=invoice_id, status=payload.status)


@router.get("/{invoice_id}/payments", response=list[PaymentOut], auth=member)
@paginate
def list_invoice_payments(request: HttpRequest, invoice_id: RowId):
    """The invoice's ledger: payments, refunds and reversals, newest first."""
    return payment_services.list_invoice_payments(invoice_id=invoice_id)


@router.post("/{invoice_id}/payments", response={201: PaymentRecordedOut}, auth=member)
@idempotent
def record_payment(request: ApiRequest, invoice_id: RowId, payload: PaymentIn):
    """Money received outside the card provider; more than the amount due answers 409."""
    payment = payment_services.record_manual_payment(
        invoice_id=invoice_id, recorded_by=request.auth.user_id, **payload.model_dump()
    )
    return 201, {"payment": payment, "invoice": payment.invoice}


class PayLinkOut(Schema):
    url: str = Field(description="A Stripe Checkout Session for the amount due, on the business's account.")
    pay_url: str = Field(description="The invoice's lasting pay link (opens a fresh session when followed).")


@router.post("/{invoice_id}/pay-link", response=PayLinkOut, auth=member)
def create_pay_link(request: ApiRequest, invoice_id: RowId):
    """A hosted card payment page for the amount due (the same while it is unchanged). 409:
    draft, cancelled or paid invoice, or no Stripe account that takes charges."""
    attempt = intents.create_checkout_session(invoice_id=invoice_id)
    return {"url": attempt.checkout_url, "pay_url": pay_links.pay_url(invoice_id=invoice_id)}
