"""Phone calls of the AI receptionist (Vapi), and the answers its tools gave (tenant schema)."""

from django.db import models

from shared_apps.tenants.sections import SettingsRow


class Call(models.Model):
    """One call, placed by us (outbound) or answered by the receptionist (inbound).
    `vapi_call_id` is Vapi's call id, unique, so re-delivered messages find the same row.
    Status only moves forward; the end-of-call report is final (services)."""

    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the job that dials it"
        DIALING = "dialing", "Handed to Vapi"
        # `POST /call` got no answer: Vapi may have placed it. reconcile.py finds out; never re-dialled.
        UNKNOWN = "unknown", "Dial outcome unknown"
        SCHEDULED = "scheduled", "Scheduled"
        QUEUED = "queued", "Queued at Vapi"
        RINGING = "ringing", "Ringing"
        IN_PROGRESS = "in-progress", "In progress"
        FORWARDING = "forwarding", "Forwarding"
        ENDED = "ended", "Ended"
        FAILED = "failed", "Not placed"

    direction = models.CharField(max_length=8, choices=Direction.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    # Unknown callers are kept unassigned. A customer with calls is archived, not deleted.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.PROTECT, related_name="calls"
    )
    customer_number = models.CharField(max_length=32, blank=True)
    purpose = models.CharField(max_length=500, blank=True)
    vapi_call_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    assistant_id = models.CharField(max_length=64, blank=True)
    phone_number_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    transcript = models.TextField(blank=True)
    summary = models.TextField(blank=True)
    recording_url = models.URLField(max_length=2000, blank=True)
    # Vapi's cost in US cents (minor units), rounded half-up.
    cost = models.PositiveIntegerField(null=True, blank=True)
    ended_reason = models.CharField(max_length=200, blank=True)
    report_received = models.BooleanField(default=False)
    # Why a call is `unknown`, or how it was settled without Vapi's messages (reconcile.py).
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=["customer", "-created_at", "-id"], name="voice_call_customer"),
            # The reconcile pass's reads: only the few calls whose dial outcome is unknown.
            models.Index(
                fields=["updated_at"],
                name="voice_call_unsettled",
                condition=models.Q(status__in=["unknown", "dialing"], vapi_call_id__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction} call {self.customer_number} ({self.status})"


class ToolCallResult(models.Model):
    """The answer given to one of Vapi's tool calls, claimed (unique `tool_call_id`) before
    the tool runs, in the same transaction: a re-delivered or concurrent duplicate waits for
    the first and returns its answer, so nothing is booked twice."""

    tool_call_id = models.CharField(max_length=128, unique=True)
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.SET_NULL, related_name="tool_results")
    name = models.CharField(max_length=64)
    arguments = models.JSONField(default=dict)
    result = models.TextField()
    appointment_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} {self.tool_call_id}"


class VoiceSettings(SettingsRow):
    """The AI receptionist's settings: the business's Vapi assistant and number, what it says
    first, and whether calls are recorded (off unless the business turns it on: consent)."""

    vapi_assistant_id = models.CharField(max_length=64, blank=True)
    vapi_phone_number_id = models.CharField(max_length=64, blank=True)
    voice_greeting = models.CharField(max_length=500, blank=True)
    voice_record_calls = models.BooleanField(default=False)
