"""What notifications record beside the text channel's own records (sms.AutomaticText)."""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from shared_apps.tenants.sections import SettingsRow


class DocumentEmail(models.Model):
    """A quote or invoice mailed to its customer with its PDF, once per document version: the
    row is claimed (unique) before the mail goes, so a re-delivered job mails nothing."""

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        SKIPPED = "skipped", "Skipped"

    document_type = models.CharField(max_length=16)
    document_id = models.BigIntegerField()
    document_version = models.PositiveIntegerField()
    to_email = models.EmailField(max_length=254, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # The table the model had when the text channel mailed documents; kept, not copied.
        db_table = "sms_documentemail"
        constraints = [
            models.UniqueConstraint(
                fields=("document_type", "document_id", "document_version"), name="sms_document_email_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document_type} {self.document_id} v{self.document_version} to {self.to_email} ({self.status})"


def default_reminder_hours() -> list[int]:
    """Appointment reminders a day and two hours before."""
    return [24, 2]


def default_payment_reminder_days() -> list[int]:
    return [1, 7, 14]


class NotificationSettings(SettingsRow):
    """Which automatic texts the business's customers get: each on or off; reminders the given
    hours before an appointment; dunning texts (with the pay link) the given days past due."""

    sms_booking_confirmation = models.BooleanField(default=True)
    sms_reminders = models.BooleanField(default=True)
    sms_reminder_hours = ArrayField(models.PositiveSmallIntegerField(), default=default_reminder_hours)
    sms_quote_sent = models.BooleanField(default=True)
    sms_invoice_sent = models.BooleanField(default=True)
    payment_reminder_days = ArrayField(models.PositiveSmallIntegerField(), default=default_payment_reminder_days)
