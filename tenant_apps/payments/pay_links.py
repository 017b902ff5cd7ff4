"""The pay link of an invoice: a stable, signed URL on our API host (printed on the PDF, sent
as `{pay_url}` in texts) that opens a fresh Stripe Checkout Session for the amount due when
the customer follows it. Checkout Sessions expire within a day; this link does not."""

from django.conf import settings
from django.core import signing
from django.db import connection

from shared_apps.errors import NotFound

PAY_PATH = "/api/v1/payments/pay/"
_SALT = "payments.pay-link"


def public_base_url() -> str:
    return (settings.PUBLIC_BASE_URL or f"http://{settings.BASE_DOMAIN}:{settings.PORT}").rstrip("/")


def pay_url(*, invoice_id: int) -> str:
    """The pay link of an invoice of the current tenant."""
    token = signing.dumps(
        [connection.schema_name, invoice_id],  # type: ignore[attr-defined]  # django-tenants
        salt=_SALT,
        compress=True,
    )
    return f"{public_base_url()}{PAY_PATH}{token}"


def read_pay_token(token: str) -> tuple[str, int]:
    """(schema name, invoice id) of a pay link's token; 404 when it is not one of ours."""
    try:
        schema_name, invoice_id = signing.loads(token, salt=_SALT)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise NotFound("Pay link not found.") from error
    if not isinstance(schema_name, str) or not isinstance(invoice_id, int):
        raise NotFound("Pay link not found.")
    return schema_name, invoice_id
