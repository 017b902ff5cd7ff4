"""Reading text messages."""

from collections.abc import Iterable
from datetime import datetime

from django.db.models import QuerySet, Sum

from shared_apps.errors import NotFound
from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.sms.models import Message, SmsTemplate


def list_messages(*, customer_id: int | None = None, direction: str | None = None) -> QuerySet[Message]:
    """Newest first, both directions unless `direction` is given."""
    messages = Message.objects.order_by("-created_at", "-id")
    if customer_id is not None:
        messages = messages.filter(customer_id=customer_id)
    if direction:
        messages = messages.filter(direction=direction)
    return messages


def require_message(message_id: int) -> None:
    """NotFound unless the text exists."""
    if not Message.objects.filter(pk=message_id).exists():
        raise NotFound("Message not found.")


def get_message(*, message_id: int) -> Message | None:
    return Message.objects.filter(pk=message_id).first()


def get_message_for_update(*, message_id: int) -> Message | None:
    return Message.objects.select_for_update(no_key=True, of=("self",)).filter(pk=message_id).first()


def get_message_for_update_by_sid(*, provider_sid: str) -> Message | None:
    """Lock the message Twilio knows as `provider_sid`, if we have it."""
    return Message.objects.select_for_update(no_key=True, of=("self",)).filter(provider_sid=provider_sid).first()


def sms_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's texts, both ways, newest first, in one query."""
    rows = window.rows(Message.objects.filter(customer_id=customer_id), time_field="created_at").values(
        "id", "direction", "body", "status", "created_at", "error_code", "media"
    )
    return [
        HistoryEntry(
            kind="sms",
            id=row["id"],
            occurred_at=row["created_at"],
            title=_history_title(body=row["body"], media=row["media"]),
            status=row["status"],
            data={"direction": row["direction"], "error_code": row["error_code"], "media": row["media"]},
        )
        for row in rows
    ]


def _history_title(*, body: str, media: list[dict[str, str]]) -> str:
    """The text's start; a photo sent without words is named by what it holds."""
    if body.strip() or not media:
        return body[:80]
    kinds = sorted({item["content_type"].partition("/")[0] or "file" for item in media})
    return f"MMS: {len(media)} attachment{'s' if len(media) > 1 else ''} ({', '.join(kinds)})"


def list_templates() -> QuerySet[SmsTemplate]:
    return SmsTemplate.objects.order_by("name", "id")


def get_template(*, template_id: int) -> SmsTemplate:
    template = SmsTemplate.objects.filter(pk=template_id).first()
    if template is None:
        raise NotFound("Template not found.", details=[{"field": "template_id"}])
    return template


def get_template_for_update(*, template_id: int) -> SmsTemplate:
    template = SmsTemplate.objects.select_for_update(no_key=True, of=("self",)).filter(pk=template_id).first()
    if template is None:
        raise NotFound("Template not found.", details=[{"field": "template_id"}])
    return template


def messages_sending_before(*, before: datetime, limit: int) -> list[Message]:
    """Outbound texts still `sending` since before `before`, oldest first (reconciliation)."""
    return list(Message.objects.filter(status=Message.Status.SENDING, updated_at__lt=before).order_by("id")[:limit])


def messages_sent_unchecked_before(*, before: datetime, limit: int) -> list[Message]:
    """Outbound texts `sent` (no final status) since before `before` that reconciliation has
    not asked Twilio about yet, oldest first."""
    return list(
        Message.objects.filter(
            status=Message.Status.SENT, delivery_checked_at__isnull=True, updated_at__lt=before
        ).order_by("id")[:limit]
    )


def claimed_sids(*, sids: Iterable[str]) -> set[str]:
    """Which of these MessageSids are already stored on a message."""
    stored = Message.objects.filter(provider_sid__in=list(sids)).values_list("provider_sid", flat=True)
    return {sid for sid in stored if sid is not None}


def sent_segments(since: datetime) -> int:
    """Segments of the texts the business sent since `since` (what Twilio bills; usage stats)."""
    return Message.objects.filter(direction=Message.Direction.OUTBOUND, created_at__gte=since).aggregate(
        total=Sum("segments", default=0)
    )["total"]
