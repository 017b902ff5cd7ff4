"""Text messages to and from the business's customers (tenant schema)."""

from datetime import time

from django.db import models

from shared_apps.tenants.sections import SettingsRow


class Message(models.Model):
    """One SMS, inbound or outbound. `provider_sid` is Twilio's MessageSid, unique, so a
    re-delivered webhook never makes a second row. Status only moves forward (services)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        UNDELIVERED = "undelivered", "Undelivered"
        FAILED = "failed", "Failed"
        RECEIVED = "received", "Received"

    class Encoding(models.TextChoices):
        GSM7 = "gsm7", "GSM-7"
        UCS2 = "ucs2", "UCS-2"

    direction = models.CharField(max_length=8, choices=Direction.choices)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices)
    error_code = models.PositiveIntegerField(null=True, blank=True)
    # Why a text failed without a Twilio error code (shown to the business).
    note = models.CharField(max_length=200, blank=True)
    segments = models.PositiveSmallIntegerField(default=1)
    # An MMS's attachments as Twilio gave them: [{"url", "content_type"}], in Twilio's order.
    # The URLs are Twilio's (fetching them needs the account's credentials); [] for a text.
    media = models.JSONField(default=list, blank=True)
    encoding = models.CharField(max_length=4, choices=Encoding.choices, default=Encoding.GSM7)
    # Unknown senders are kept unassigned. A customer with messages is archived, not deleted.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="sms_messages"
    )
    provider_sid = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # When reconciliation asked Twilio about a text still `sent` hours later and Twilio had no
    # final status either (the carrier sent no receipt): such a text is not asked about again.
    delivery_checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="sms_message_customer"),
            # The reconciliation pass reads only the texts still `sending`.
            models.Index(fields=["updated_at"], name="sms_message_sending", condition=models.Q(status="sending")),
            # ... and the texts `sent` without a final status that Twilio was not yet asked about.
            models.Index(
                fields=["updated_at"],
                name="sms_message_sent_unchecked",
                condition=models.Q(status="sent", delivery_checked_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.from_number} -> {self.to_number} ({self.status})"


class AutomaticText(models.Model):
    """One automatic text (a reminder, a confirmation) the business decided to send or skip,
    under a unique `send_key` naming what it is about (for a reminder: appointment, kind and
    the appointment time it was for): whatever runs twice, a key is sent at most once."""

    class Status(models.TextChoices):
        SENT = "sent", "Queued for sending"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        OPTED_OUT = "opted_out", "The number replied STOP"
        NO_PHONE = "no_phone", "The customer has no phone number"
        NO_SENDER = "no_sender", "The business has no sms_sender number"
        STALE = "stale", "Due too long ago (the system was down)"
        QUIET_HOURS = "quiet_hours", "Quiet hours last until it would be pointless"
        GONE = "gone", "What it was about was cancelled or is no longer sent"
        UNSENDABLE = "unsendable", "The text as written was empty or too long to send"
        SMS_OFF = "sms_off", "Texts are switched off for the business (its sms flag)"

    send_key = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    status = models.CharField(max_length=8, choices=Status.choices)
    skip_reason = models.CharField(max_length=16, choices=SkipReason.choices, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="automatic_texts"
    )
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.send_key}: {self.status} {self.skip_reason}".strip()


class SmsTemplate(models.Model):
    """A reusable text with named variables (`{customer_name}`...), rendered at send time by
    `templates.render_template`. Its variables are checked when it is saved."""

    name = models.CharField(max_length=100, unique=True)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")

    def __str__(self) -> str:
        return self.name


class SmsSettings(SettingsRow):
    """The text channel's settings: the business's Twilio sender number, and the local hours in
    which no automatic text is sent (the window may wrap midnight)."""

    sms_sender = models.CharField(max_length=32, blank=True)
    quiet_hours_start = models.TimeField(default=time(21, 0))
    quiet_hours_end = models.TimeField(default=time(8, 0))
