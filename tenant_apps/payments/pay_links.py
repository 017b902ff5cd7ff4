"""The pay link of an invoice: a short, stable, signed URL on the business's own host
(`https://acme.example.com/p/<token>`, printed on the PDF and sent as `{pay_url}` in texts)
that opens a fresh Stripe Checkout Session for the amount due when the customer follows it.
Checkout Sessions expire within a day; this link does not.

The token is the invoice id and a MAC of it bound to the business's schema, so a link is good
on its own business's host only. Links made before short links existed
(`/api/v1/payments/pay/<long token>`) still open, through `read_legacy_token`."""

import base64
import binascii
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import connection
from django.utils.crypto import constant_time_compare, salted_hmac

from shared_apps.errors import NotFound
from shared_apps.tenants import queries as tenant_queries
from shared_apps.tenants.models import CustomDomain, Tenant
from shared_apps.tenants.services import tenant_host
from tenant_apps.payments.connect import card_payments_enabled
from tenant_apps.payments.models import StripeAccount

PAY_PATH = "/p/"
LEGACY_PAY_PATH = "/api/v1/payments/pay/"
_LEGACY_SALT = "payments.pay-link"
_SALT = "payments.short-pay-link"
_MAC_BYTES = 9  # 72 bits: guessing a link online is hopeless


def public_base_url() -> str:
    return (settings.PUBLIC_BASE_URL or f"http://{settings.BASE_DOMAIN}:{settings.PORT}").rstrip("/")


def business_base_url(*, tenant: Tenant) -> str:
    """Where the business's customers reach us: its verified domain (the latest verified),
    else its subdomain, with the scheme and port of our public URL."""
    domain = (
        CustomDomain.objects.filter(tenant_id=tenant.pk, verified_at__isnull=False)
        .order_by("-verified_at", "-id")
        .values_list("domain", flat=True)
        .first()
    )
    public = urlsplit(public_base_url())
    port = f":{public.port}" if public.port else ""
    return f"{public.scheme}://{domain or tenant_host(slug=tenant.claimed_slug)}{port}"


def _mac(*, schema_name: str, invoice_id: int) -> bytes:
    return salted_hmac(_SALT, f"{schema_name}:{invoice_id}", algorithm="sha256").digest()[:_MAC_BYTES]


def pay_token(*, schema_name: str, invoice_id: int) -> str:
    """The invoice id (8 bytes) and its MAC, base64url: 23 characters."""
    raw = invoice_id.to_bytes(8, "big") + _mac(schema_name=schema_name, invoice_id=invoice_id)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_pay_token(*, token: str, schema_name: str) -> int:
    """The invoice id of a short link's token made for `schema_name`; 404 otherwise (another
    business's link, a forged or truncated one)."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as error:
        raise NotFound("Pay link not found.") from error
    if len(raw) != 8 + _MAC_BYTES:
        raise NotFound("Pay link not found.")
    invoice_id = int.from_bytes(raw[:8], "big")
    if not constant_time_compare(raw[8:], _mac(schema_name=schema_name, invoice_id=invoice_id)):
        raise NotFound("Pay link not found.")
    return invoice_id


def pay_url(*, invoice_id: int, tenant: Tenant | None = None) -> str:
    """The pay link of an invoice of `tenant` (default: the current tenant)."""
    tenant = tenant or tenant_queries.get_tenant_by_schema(
        schema_name=connection.schema_name  # type: ignore[attr-defined]  # django-tenants
    )
    if tenant is None:
        raise NotFound("Business not found.")
    token = pay_token(schema_name=tenant.schema_name, invoice_id=invoice_id)
    return f"{business_base_url(tenant=tenant)}{PAY_PATH}{token}"


def paid_url(*, invoice_id: int) -> str:
    """Checkout's `success_url`: Stripe puts the session id in place of the placeholder."""
    return f"{pay_url(invoice_id=invoice_id)}/paid?session_id={{CHECKOUT_SESSION_ID}}"


def cancelled_url(*, invoice_id: int) -> str:
    """Checkout's `cancel_url`: the customer left without paying."""
    return f"{pay_url(invoice_id=invoice_id)}/cancelled"


def read_legacy_token(token: str) -> tuple[str, int]:
    """(schema name, invoice id) of a long pay link's token; 404 when it is not one of ours."""
    try:
        schema_name, invoice_id = signing.loads(token, salt=_LEGACY_SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise NotFound("Pay link not found.") from error
    if not isinstance(schema_name, str) or not isinstance(invoice_id, int):
        raise NotFound("Pay link not found.")
    return schema_name, invoice_id


def card_pay_link(invoice_id: int) -> str | None:
    """The invoice's pay link once the business takes cards (printed on its PDF), else None;
    None too while card payments are switched off for it (its card_payments flag)."""
    if not card_payments_enabled():
        return None
    if not StripeAccount.objects.filter(charges_enabled=True).exists():
        return None
    return pay_url(invoice_id=invoice_id)
