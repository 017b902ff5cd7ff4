"""Card payments (Stripe Connect): the business's Stripe account, PaymentIntents, the ledger,
refunds, pay links and Stripe's webhook (public, API host)."""

from datetime import datetime
from typing import Annotated

from django.conf import settings
from django.http import HttpResponse
from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, TenantMember, manager, member
from api.documents import MAX_AMOUNT, InvoiceOut
from api.idempotency import idempotent
from api.invoices import PaymentOut as LedgerRowOut
from api.lists import paginate
from api.schemas import RowId, StrictSchema, enum_of
from api.tenancy import require_api_host
from shared_apps.accounts.models import Membership
from shared_apps.webhooks import stripe as stripe_webhooks
from tenant_apps.invoices.services import require_invoice
from tenant_apps.payments import connect as stripe_connect
from tenant_apps.payments import intents, pay_links, queries, refunds
from tenant_apps.payments.models import CardRefund

router = Router(tags=["payments"])
owner = TenantMember(Membership.Role.OWNER)


@router.post("/webhook", auth=None, response={200: None})
def stripe_webhook(request: ApiRequest):
    """Stripe's events (Stripe-Signature, 300 s tolerance). Stored once per event id and
    answered at once; processing runs in a job. Forged, stale or unsigned: 400, nothing kept."""
    require_api_host(request)
    stripe_webhooks.receive_stripe_webhook(
        body=request.body,
        signature=request.headers.get("Stripe-Signature"),
        content_type=request.content_type or "",
    )
    return HttpResponse(status=200)


class ConnectIn(StrictSchema):
    return_url: str = Field(default="", max_length=2000)


class ConnectLinkOut(Schema):
    url: str


class ConnectOut(Schema):
    account_id: str | None
    connected: bool = Field(description="False before connecting and after the business disconnected us.")
    disconnected_at: datetime | None = Field(description="When the business disconnected our platform.")
    charges_enabled: bool
    details_submitted: bool
    payouts_enabled: bool


@router.post("/connect", response=ConnectLinkOut, auth=owner)
def connect(request: ApiRequest, payload: ConnectIn | None = None):
    """The owner's onboarding link for the business's own Stripe account (made on first use,
    and anew after the business disconnected us)."""
    back = (payload.return_url if payload else "") or pay_links.public_base_url()
    url = stripe_connect.connect_stripe_account(tenant=request.auth.tenant, return_url=back, refresh_url=back)
    return {"url": url}


@router.get("/connect", response=ConnectOut, auth=member)
def connect_state(request: ApiRequest):
    """Whether the business has a Stripe account connected, and whether it takes charges."""
    account = stripe_connect.shown_account()
    if account is None:
        return {
            "account_id": None,
            "connected": False,
            "disconnected_at": None,
            "charges_enabled": False,
            "details_submitted": False,
            "payouts_enabled": False,
        }
    return {
        "account_id": account.account_id,
        "connected": account.disconnected_at is None,
        "disconnected_at": account.disconnected_at,
        "charges_enabled": account.charges_enabled,
        "details_submitted": account.details_submitted,
        "payouts_enabled": account.payouts_enabled,
    }


class CreateIntentIn(StrictSchema):
    invoice_id: RowId


class IntentOut(Schema):
    payment_id: int = Field(description="Our card payment attempt.")
    payment_intent_id: str
    client_secret: str
    publishable_key: str
    stripe_account: str
    amount: int
    currency: str


@router.post("/create-intent", response=IntentOut, auth=member)
def create_intent(request: ApiRequest, payload: CreateIntentIn):
    """A PaymentIntent for the invoice's amount due (the same one while it is unchanged).
    409: draft, cancelled or paid invoice, or no Stripe account that takes charges."""
    attempt = intents.create_payment_intent(invoice_id=payload.invoice_id)
    return {
        "payment_id": attempt.pk,
        "payment_intent_id": attempt.payment_intent_id,
        "client_secret": attempt.client_secret,
        "publishable_key": settings.STRIPE_PUBLISHABLE_KEY,
        "stripe_account": attempt.account_id,
        "amount": attempt.amount,
        "currency": attempt.currency,
    }


class PaymentOut(LedgerRowOut):
    provider_id: str | None = Field(description="Stripe's PaymentIntent (pi_) or refund (re_) id of a card row.")


@router.get("", response=list[PaymentOut], auth=member)
@paginate
def list_payments(request: ApiRequest, invoice_id: RowId | None = None):
    """The ledger (payments and refunds), newest first; `invoice_id` keeps one invoice's."""
    if invoice_id is not None:
        require_invoice(invoice_id=invoice_id)
    return queries.list_payments(invoice_id=invoice_id)


class RefundIn(StrictSchema):
    amount: int | None = Field(default=None, gt=0, le=MAX_AMOUNT)


class RefundOut(Schema):
    id: int
    payment_id: int
    amount: int
    status: Annotated[str, enum_of(CardRefund.Status)]
    refund_id: str | None
    created_at: datetime


class RefundedOut(Schema):
    refund: RefundOut
    invoice: InvoiceOut


@router.post("/{payment_id}/refund", response={201: RefundedOut}, auth=manager)
@idempotent
def refund(request: ApiRequest, payment_id: RowId, payload: RefundIn):
    """Refund a card payment in full (no amount) or in part, never more than is left of it.
    The ledger and the invoice follow once Stripe accepts it (`status` succeeded)."""
    card_refund = refunds.request_card_refund(
        payment_id=payment_id, amount=payload.amount, requested_by=request.auth.user_id
    )
    return 201, {"refund": card_refund, "invoice": card_refund.payment.invoice}
