"""Card disputes Stripe closed: the invoice's flag is cleared and a lost one leaves the ledger
like a refund."""

from typing import Any

from django.db import transaction
from django.utils import timezone

from shared_apps.webhooks.stripe import PROVIDER
from tenant_apps.invoices.services import lock_invoice
from tenant_apps.payments.ledger import notify_owner, post_ledger_entry
from tenant_apps.payments.models import CardRefund, Payment, PaymentNotice


def close_dispute(*, payment: Payment, dispute: dict[str, Any]) -> None:
    """A dispute Stripe closed: the invoice's flag is cleared; a lost one takes its amount out
    of the ledger like a refund (once per dispute id). The owner sees the outcome."""
    status = dispute.get("status")
    if status not in ("won", "lost", "warning_closed"):
        return  # still open at Stripe: an event out of order
    with transaction.atomic():
        Payment.objects.select_for_update().filter(pk=payment.pk).first()  # the refunds' lock
        invoice = lock_invoice(invoice_id=payment.invoice_id)
        if invoice.disputed_at is not None:
            invoice.disputed_at = None
            invoice.save(update_fields=["disputed_at", "updated_at"])
        amount = int(dispute["amount"])
        if status == "lost" and not CardRefund.objects.filter(refund_id=dispute["id"]).exists():
            entry = post_ledger_entry(
                invoice=invoice,
                kind=Payment.Kind.REFUND,
                amount=amount,
                currency=payment.currency,
                method=Payment.Method.CARD,
                reference=dispute.get("charge") or "",
                provider=PROVIDER,
                provider_id=dispute["id"],
                occurred_at=timezone.now(),
            )
            CardRefund.objects.create(
                payment=payment,
                amount=amount,
                status=CardRefund.Status.SUCCEEDED,
                refund_id=dispute["id"],
                ledger_entry=entry,
            )
        outcome = "lost: the customer keeps the money" if status == "lost" else "won"
        notify_owner(
            invoice=invoice,
            kind=PaymentNotice.Kind.DISPUTE_CLOSED,
            message=f"The dispute of a card payment of invoice {invoice.number} was {outcome}.",
            dedupe_key=f"dispute_closed:{dispute['id']}",
            dispute_id=dispute["id"],
            status=status,
            amount=amount,
        )
