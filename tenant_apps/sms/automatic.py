"""Automatic texts (reminders, confirmations, notices, dunning): each is decided once under its
send key and either queued or skipped with the reason recorded. What a text says and when it
is due are the caller's business (notifications); quiet hours too
(`quiet_hours.next_allowed_send_time`), since only the caller knows when to try again."""

from django.db import IntegrityError, transaction

from shared_apps.errors import ValidationFailed
from shared_apps.flags.catalogue import SMS
from shared_apps.tenants.models import Tenant
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import RecipientOptedOut
from tenant_apps.sms.models import AutomaticText, SmsSettings
from tenant_apps.sms.services import queue_sms

Reason = AutomaticText.SkipReason


def record_skipped_text(
    *, send_key: str, kind: str, reason: AutomaticText.SkipReason, customer: Customer | None = None
) -> AutomaticText | None:
    """Record that the text under `send_key` is not sent (None if it was already decided)."""
    return _decide(
        AutomaticText(
            send_key=send_key, kind=kind, status=AutomaticText.Status.SKIPPED, skip_reason=reason, customer=customer
        )
    )


def send_automatic_text(
    *, tenant: Tenant, send_key: str, kind: str, customer: Customer, body: str
) -> AutomaticText | None:
    """Queue `body` to the customer's phone once per `send_key`, in the caller's transaction;
    an opted-out number, a customer without a phone, a business without a sender number or
    with texts switched off is skipped and recorded. Returns None when the key was already decided (nothing happens)."""
    with transaction.atomic():
        if AutomaticText.objects.filter(send_key=send_key).exists():
            return None
        reason = _reason_to_skip(tenant=tenant, customer=customer)
        if reason is not None:
            return record_skipped_text(send_key=send_key, kind=kind, reason=reason, customer=customer)
        try:
            message = queue_sms(tenant=tenant, customer_id=customer.pk, body=body)
        except RecipientOptedOut:
            return record_skipped_text(send_key=send_key, kind=kind, reason=Reason.OPTED_OUT, customer=customer)
        except ValidationFailed:  # the text as rendered is empty or too long
            return record_skipped_text(send_key=send_key, kind=kind, reason=Reason.UNSENDABLE, customer=customer)
        return _decide(
            AutomaticText(
                send_key=send_key, kind=kind, status=AutomaticText.Status.SENT, customer=customer, message=message
            ),
            raise_if_taken=True,
        )


def _reason_to_skip(*, tenant: Tenant, customer: Customer) -> AutomaticText.SkipReason | None:
    if not tenant.may_run(integration=SMS):
        return Reason.SMS_OFF
    if not SmsSettings.load().sms_sender:
        return Reason.NO_SENDER
    if not customer.phone:
        return Reason.NO_PHONE
    if customer_queries.is_phone_opted_out(phone=customer.phone):  # the customer, or another with the number
        return Reason.OPTED_OUT
    return None


def _decide(text: AutomaticText, *, raise_if_taken: bool = False) -> AutomaticText | None:
    """Insert the decision; a concurrent run that decided the same key first wins. When a text
    was queued in the same transaction, losing must undo it (`raise_if_taken`)."""
    try:
        with transaction.atomic():
            text.save()
    except IntegrityError:
        if raise_if_taken:
            raise
        return None
    return text
