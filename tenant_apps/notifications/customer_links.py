"""Carrying a customer's hub link to them, by text or email. Sent from the request that made
the link (the text queued in its transaction, the mail once it commits), never from a job:
a job's message would hold the link's token, and tokens are not stored."""

import logging
import smtplib
from datetime import datetime

from django.db import transaction

from shared_apps.errors import Conflict
from shared_apps.tenants.models import Tenant
from tenant_apps.customers.models import Customer
from tenant_apps.notifications.document_email import branded_mail
from tenant_apps.sms.services import queue_sms

logger = logging.getLogger("notifications.customer_links")


def _expiry(tenant: Tenant, expires_at: datetime) -> str:
    return tenant.local_date(expires_at).isoformat()


def text_customer_link(*, tenant: Tenant, customer: Customer, url: str, expires_at: datetime) -> None:
    """Queue the link in a text to the customer's phone (409 when it cannot go: no phone, an
    opted-out number, no sender number)."""
    if not customer.phone:
        raise Conflict("The customer has no phone number.", code="customer_no_phone", details=[{"field": "send_via"}])
    body = (
        f"Hi {customer.name}, here is your {tenant.name} page for quotes, invoices and visits: {url} "
        f"(valid until {_expiry(tenant, expires_at)})"
    )
    queue_sms(tenant=tenant, customer_id=customer.pk, body=body)


def email_customer_link(*, tenant: Tenant, customer: Customer, url: str, expires_at: datetime) -> None:
    """Mail the link once the caller's transaction commits (409 when the customer has no
    address). A mail server that is away does not undo the link: staff have it in the answer."""
    if not customer.email:
        raise Conflict("The customer has no email address.", code="customer_no_email", details=[{"field": "send_via"}])
    mail = branded_mail(
        tenant=tenant,
        subject=f"{tenant.name}: your quotes, invoices and visits",
        greeting=f"Hello {customer.name},",
        text=(
            f"you can see your quotes, invoices and visits with {tenant.name}, approve quotes and pay invoices "
            f"here: {url} (valid until {_expiry(tenant, expires_at)}). Please keep this link to yourself."
        ),
        to_email=customer.email,
    )

    def send() -> None:
        try:
            mail.send()
        except (smtplib.SMTPException, OSError):
            logger.warning("Could not mail a customer link", exc_info=True, extra={"customer_id": customer.pk})

    transaction.on_commit(send)
