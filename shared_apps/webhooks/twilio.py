"""Twilio's webhooks on the pipeline: inbound messages and status callbacks, verified with the
SDK's RequestValidator over every form parameter and the public URL Twilio called."""

import logging
from collections.abc import Mapping

from django.conf import settings
from twilio.request_validator import RequestValidator

from shared_apps.errors import PermissionDenied, ValidationFailed
from shared_apps.webhooks.services import RecordedEvent, record_webhook_event

logger = logging.getLogger("webhooks.twilio")

PROVIDER = "twilio"
# Route kinds: a tenant's sender number (E.164), and a message we sent (its MessageSid).
SENDER_KIND = "sms_sender"
MESSAGE_KIND = "sms_message"


def verify_twilio_signature(*, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """True when `signature` is Twilio's HMAC of `url` and `params` with TWILIO_AUTH_TOKEN.
    Without a configured token nothing verifies."""
    token = settings.TWILIO_AUTH_TOKEN
    if not signature or not token:
        return False
    return RequestValidator(token).validate(url, params, signature)


def receive_twilio_webhook(
    *, url: str, params: Mapping[str, str], signature: str | None, body: bytes, content_type: str
) -> RecordedEvent:
    """Verify and store one Twilio delivery. An inbound message is owned by the tenant whose
    sender number it was sent `To` (never by its `From`) and deduplicated by MessageSid; a
    status callback by the tenant that sent the message (its stored MessageSid, else our
    number in `From`), deduplicated by MessageSid and status. Raises PermissionDenied for a
    forged or unsigned request, before anything is stored."""
    if not verify_twilio_signature(url=url, params=params, signature=signature):
        logger.warning("Refused a Twilio webhook with a missing or invalid signature")
        raise PermissionDenied("Invalid Twilio signature.", code="invalid_signature")
    message_sid = params.get("MessageSid") or params.get("SmsSid")
    if not message_sid:
        raise ValidationFailed(
            "Not a Twilio message webhook.", details=[{"field": "MessageSid", "message": "Missing."}]
        )
    message_status = params.get("MessageStatus")
    if message_status:
        dedupe_key = f"{message_sid}:{message_status}"
        candidates = [(MESSAGE_KIND, message_sid), (SENDER_KIND, params.get("From", ""))]
    else:
        dedupe_key = message_sid
        candidates = [(SENDER_KIND, params.get("To", ""))]
    return record_webhook_event(
        provider=PROVIDER, dedupe_key=dedupe_key, route_candidates=candidates, body=body, content_type=content_type
    )
