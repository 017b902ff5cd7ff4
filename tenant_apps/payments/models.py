"""The payments ledger (tenant schema): every payment and refund against an invoice is a row;
an invoice's balance is its total minus payments plus refunds."""

from django.db import models
from django.db.models import Q


class Payment(models.Model):
    """Money received for (`payment`) or returned from (`refund`) an invoice, or a card
    refund that failed after it was recorded (`reversal`: the money came back). `amount` is
    always positive; `kind` gives the direction. Provider rows (Stripe) carry a unique
    `provider_id` so a webhook delivered twice records one row."""

    class Kind(models.TextChoices):
        PAYMENT = "payment", "Payment"
        REFUND = "refund", "Refund"
        REVERSAL = "reversal", "Failed refund returned"

    class Method(models.TextChoices):
        CASH = "cash", "Cash"
        CHECK = "check", "Check"
        BANK_TRANSFER = "bank_transfer", "Bank transfer"
        CARD = "card", "Card"
        OTHER = "other", "Other"

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="payments")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PAYMENT)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    method = models.CharField(max_length=16, choices=Method.choices)
    reference = models.CharField(max_length=200, blank=True)
    provider = models.CharField(max_length=32, default="manual")
    provider_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    occurred_at = models.DateTimeField()
    recorded_by = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-occurred_at", "-id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payments_payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} on invoice {self.invoice_id}"


class StripeAccount(models.Model):
    """The business's own Stripe account (Connect): card payments are direct charges on it.
    `account.updated` events keep the flags current. A business that disconnects our platform
    (`account.application.deauthorized`) keeps its row, marked `disconnected_at`, so later
    events of that account are still applied; connecting again makes a new account and row.
    At most one row is connected."""

    account_id = models.CharField(max_length=255, unique=True)
    charges_enabled = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    details_submitted = models.BooleanField(default=False)
    disabled_reason = models.CharField(max_length=255, blank=True)
    # Succeeded intents created since this instant are compared with the ledger next night.
    reconciled_until = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                models.Value(True),
                condition=Q(disconnected_at__isnull=True),
                name="payments_one_connected_stripe_account",
            )
        ]

    def __str__(self) -> str:
        return self.account_id


class CardPayment(models.Model):
    """One attempt to take a card payment for an invoice: a PaymentIntent made for the front
    end (`intent`) or a Checkout Session behind a pay link (`checkout`). Its id makes the
    Stripe Idempotency-Key, so a retried create never makes a second intent. The money is in
    the ledger (Payment) only once Stripe says it succeeded."""

    class Kind(models.TextChoices):
        INTENT = "intent", "PaymentIntent"
        CHECKOUT = "checkout", "Checkout Session"

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for the customer"
        SUCCEEDED = "succeeded", "Paid"
        CANCELED = "canceled", "Replaced or voided"

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="card_payments")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    application_fee = models.BigIntegerField(default=0)
    account_id = models.CharField(max_length=255)
    payment_intent_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    client_secret = models.CharField(max_length=255, blank=True)
    checkout_session_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    checkout_url = models.URLField(max_length=2000, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["invoice", "kind", "status"], name="card_payment_open")]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payments_card_payment_positive")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} for invoice {self.invoice_id} ({self.status})"


class CardRefund(models.Model):
    """A refund asked of Stripe for a card payment. The row exists before the call (its id
    is the Idempotency-Key) and reserves its amount, so concurrent refunds never return more
    than was paid; the ledger's refund row is written once Stripe says it succeeded. A lost
    dispute is kept the same way (succeeded, `refund_id` the dispute's dp_ id): the money left
    with the customer and cannot be refunded again."""

    class Status(models.TextChoices):
        REQUESTED = "requested", "Not yet accepted by Stripe"
        PENDING = "pending", "Accepted, not yet settled"
        SUCCEEDED = "succeeded", "Refunded"
        FAILED = "failed", "Failed"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="card_refunds")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    refund_id = models.CharField(max_length=255, null=True, blank=True, unique=True)
    ledger_entry = models.OneToOneField(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="card_refund"
    )
    requested_by = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payments_card_refund_positive")]

    def __str__(self) -> str:
        return f"refund {self.amount} of payment {self.payment_id} ({self.status})"


class PaymentNotice(models.Model):
    """Something about an invoice's card payments the owner must see on the customer's
    timeline: a declined card, a dispute, an overpayment. Once per `dedupe_key`."""

    class Kind(models.TextChoices):
        PAYMENT_FAILED = "payment_failed", "Card payment failed"
        DISPUTE = "dispute", "Payment disputed"
        OVERPAYMENT = "overpayment", "Paid more than was due"
        REFUND_FAILED = "refund_failed", "Card refund failed"
        DISPUTE_CLOSED = "dispute_closed", "Dispute closed"
        DISPUTE_FUNDS_WITHDRAWN = "dispute_funds_withdrawn", "Disputed amount withheld"
        DISPUTE_FUNDS_REINSTATED = "dispute_funds_reinstated", "Disputed amount returned"

    invoice = models.ForeignKey("invoices.Invoice", on_delete=models.PROTECT, related_name="payment_notices")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    message = models.TextField()
    data = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=255, unique=True)
    occurred_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["invoice", "-occurred_at"], name="payment_notice_invoice")]

    def __str__(self) -> str:
        return f"{self.kind} on invoice {self.invoice_id}"
