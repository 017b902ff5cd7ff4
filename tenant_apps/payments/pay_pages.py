"""What a customer who follows an invoice's pay link sees (api/pay_pages.py renders it): a
Checkout Session while something is due, else a page that says where the invoice stands;
after Checkout, a thank-you page (or, when they left, a way to try again). A link is served
on its own business's host only: on another business's host it is not found."""

from dataclasses import dataclass
from enum import StrEnum

from shared_apps.errors import NotFound
from shared_apps.tenants import queries as tenant_queries
from shared_apps.tenants.models import Tenant
from tenant_apps.billing.totals import format_money
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments import intents, pay_links
from tenant_apps.payments.models import CardPayment


class PageKind(StrEnum):
    CHECKOUT = "checkout"  # something is due: off to Stripe's Checkout
    PAID = "paid"  # nothing is due: the invoice is paid
    THANKS = "thanks"  # back from Checkout: paid, or paid by a method that settles later
    CANCELLED = "cancelled"  # back from Checkout without paying
    NOT_PAYABLE = "not_payable"  # cancelled (or otherwise closed) invoice


@dataclass(frozen=True)
class PayPage:
    kind: PageKind
    business_name: str
    invoice_number: str
    amount: str  # formatted for people, in the invoice's currency
    settled: bool = True  # False: the payment is on its way (a bank debit, or its event is late)
    pay_url: str = ""
    checkout_url: str = ""  # set: send the customer to Stripe's Checkout instead of a page


def _invoice_of_link(*, tenant: Tenant | None, token: str) -> tuple[Tenant, Invoice]:
    """The invoice a short link names on this business's host (the current schema)."""
    if tenant is None or not tenant.is_active:
        raise NotFound("Pay link not found.")
    invoice_id = pay_links.read_pay_token(token=token, schema_name=tenant.schema_name)
    invoice = Invoice.objects.filter(pk=invoice_id).exclude(status=Invoice.Status.DRAFT).first()
    if invoice is None:
        raise NotFound("Pay link not found.")
    return tenant, invoice


def _page(kind: PageKind, *, tenant: Tenant, invoice: Invoice, amount: int, **extra: object) -> PayPage:
    return PayPage(
        kind=kind,
        business_name=tenant.name or tenant.claimed_slug,
        invoice_number=invoice.number or "",
        amount=format_money(amount, invoice.currency),
        pay_url=pay_links.pay_url(invoice_id=invoice.pk, tenant=tenant),
        **extra,  # type: ignore[arg-type]
    )


def open_pay_link(*, tenant: Tenant | None, token: str) -> PayPage:
    """Following the link: Checkout for the amount due; a paid or closed invoice answers a
    page instead of an error. 404 for a link not of this host's business."""
    tenant, invoice = _invoice_of_link(tenant=tenant, token=token)
    if invoice.takes_payment:
        attempt = intents.create_checkout_session(invoice_id=invoice.pk)
        return _page(
            PageKind.CHECKOUT, tenant=tenant, invoice=invoice, amount=attempt.amount, checkout_url=attempt.checkout_url
        )
    if invoice.status == Invoice.Status.PAID:
        return _page(PageKind.PAID, tenant=tenant, invoice=invoice, amount=invoice.amount_paid)
    return _page(PageKind.NOT_PAYABLE, tenant=tenant, invoice=invoice, amount=invoice.amount_due)


def returned_from_checkout(*, tenant: Tenant | None, token: str, session_id: str) -> PayPage:
    """Checkout's success_url: thanks for the session's amount. Until Stripe's event is
    applied (or a bank debit settles) the page says the payment is on its way."""
    tenant, invoice = _invoice_of_link(tenant=tenant, token=token)
    attempt = CardPayment.objects.filter(invoice=invoice, checkout_session_id=session_id or None).first()
    if attempt is None:
        return _page(
            PageKind.THANKS,
            tenant=tenant,
            invoice=invoice,
            amount=invoice.amount_paid,
            settled=invoice.status == Invoice.Status.PAID,
        )
    settled = attempt.status == CardPayment.Status.SUCCEEDED
    return _page(PageKind.THANKS, tenant=tenant, invoice=invoice, amount=attempt.amount, settled=settled)


def left_checkout(*, tenant: Tenant | None, token: str) -> PayPage:
    """Checkout's cancel_url: nothing was paid; the link opens Checkout again."""
    tenant, invoice = _invoice_of_link(tenant=tenant, token=token)
    return _page(PageKind.CANCELLED, tenant=tenant, invoice=invoice, amount=invoice.amount_due)


def legacy_pay_link(*, tenant: Tenant | None, token: str) -> str:
    """The short link that replaces a long one (`/api/v1/payments/pay/<token>`), followed on
    the API host or on its own business's host; 404 on another business's host."""
    schema_name, invoice_id = pay_links.read_legacy_token(token)
    if tenant is not None and tenant.schema_name != schema_name:
        raise NotFound("Pay link not found.")
    owner = tenant or tenant_queries.get_tenant_by_schema(schema_name=schema_name)
    if owner is None or not owner.is_active:
        raise NotFound("Pay link not found.")
    return pay_links.pay_url(invoice_id=invoice_id, tenant=owner)
