"""Finding out what happened to texts whose send had no clear outcome.

Twilio has no idempotency key, so a send that timed out is never retried: it stays `sending`.
This periodic pass asks Twilio instead: by MessageSid when we have it (a lost status
callback), else by listing the messages to that number from our sender and matching the
body (the create call timed out after Twilio accepted it). A text Twilio still has no record
of after GIVE_UP_AFTER was never accepted and is marked failed; one Twilio cannot be reached
about stays `sending` for the next pass.

A text `sent` (handed to the carrier) has one more status to come, by a callback Twilio posts
once and never again. Still `sent` after SETTLE_SENT_AFTER, it is fetched by its MessageSid
once: a final status Twilio has is applied; when Twilio too still says `sent` (some carriers
send no delivery receipt) that is the truth, and the text is marked checked and left alone."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from shared_apps.tenants.every_tenant import run_in_every_active_tenant
from shared_apps.webhooks import twilio
from shared_apps.webhooks.services import claim_provider_route
from tenant_apps.sms import queries
from tenant_apps.sms.gateway import TwilioMessage, TwilioRefused, TwilioUnreachable, fetch_message, list_messages
from tenant_apps.sms.models import Message
from tenant_apps.sms.services import TWILIO_STATUSES, advance_status

logger = logging.getLogger("sms.reconcile")

# A text is looked up once it has been `sending` this long (callbacks normally come sooner).
RECONCILE_AFTER = timedelta(minutes=2)
# Twilio's list may lag behind a create; after this long without a record, it was never sent.
GIVE_UP_AFTER = timedelta(minutes=30)
# A `sent` text's delivery receipt normally follows within minutes; hours later it was lost.
SETTLE_SENT_AFTER = timedelta(hours=4)
# Twilio's date_created is to the second and our clocks differ a little.
CLOCK_SLACK = timedelta(minutes=1)
BATCH_SIZE = 100
NOT_SENT_NOTE = "Twilio has no record of this text: it was not sent."


def _find_at_twilio(message: Message) -> TwilioMessage | None:
    """Twilio's record of `message`, or None when it has none. Raises when Twilio cannot be
    asked (transport error, server error)."""
    if message.provider_sid:
        return fetch_message(sid=message.provider_sid)
    candidates = [
        (sent.date_created, sent)
        for sent in list_messages(to=message.to_number, from_=message.from_number, limit=50)
        if sent.body == message.body and sent.date_created and sent.date_created >= message.created_at - CLOCK_SLACK
    ]
    taken = queries.claimed_sids(sids=[sent.sid for _, sent in candidates])
    # Oldest first: of two identical texts, the first one sent is ours.
    unclaimed = sorted(((created, sent) for created, sent in candidates if sent.sid not in taken), key=lambda c: c[0])
    return unclaimed[0][1] if unclaimed else None


def _settle(*, message_id: int, tenant_id: int, found: TwilioMessage | None, now: datetime) -> None:
    with transaction.atomic():
        message = queries.get_message_for_update(message_id=message_id)
        if message is None or message.status != Message.Status.SENDING:
            return
        if found is None:
            if now - message.created_at >= GIVE_UP_AFTER:
                message.note = NOT_SENT_NOTE
                message.save(update_fields=["note", "updated_at"])
                advance_status(message, new_status=Message.Status.FAILED, error_code=None)
            return
        if not message.provider_sid:
            message.provider_sid = found.sid
            message.save(update_fields=["provider_sid", "updated_at"])
            claim_provider_route(
                tenant_id=tenant_id, provider=twilio.PROVIDER, kind=twilio.MESSAGE_KIND, external_id=found.sid
            )
        new_status = TWILIO_STATUSES.get(found.status)
        if new_status is not None:
            advance_status(message, new_status=new_status, error_code=found.error_code)


def _settle_sent(*, message_id: int, found: TwilioMessage | None, now: datetime) -> None:
    """Apply the final status Twilio has for a `sent` text; without one, mark it checked."""
    with transaction.atomic():
        message = queries.get_message_for_update(message_id=message_id)
        if message is None or message.status != Message.Status.SENT:
            return
        new_status = TWILIO_STATUSES.get(found.status) if found is not None else None
        error_code = found.error_code if found is not None else None
        if new_status is None or not advance_status(message, new_status=new_status, error_code=error_code):
            message.delivery_checked_at = now
            message.save(update_fields=["delivery_checked_at", "updated_at"])


def _ask_twilio(message: Message) -> tuple[bool, TwilioMessage | None]:
    """(whether Twilio answered, its record of the text)."""
    try:
        return True, _find_at_twilio(message)
    except (TwilioRefused, TwilioUnreachable):
        logger.warning("Could not ask Twilio about a text", exc_info=True, extra={"message_id": message.pk})
        return False, None


def reconcile_messages(*, tenant_id: int, now: datetime | None = None) -> int:
    """Settle the current schema's texts stuck in `sending`, and those `sent` for hours without
    a final status; returns how many were looked up. Never sends anything."""
    now = now or timezone.now()
    looked_up = 0
    for message in queries.messages_sending_before(before=now - RECONCILE_AFTER, limit=BATCH_SIZE):
        answered, found = _ask_twilio(message)
        if answered:
            _settle(message_id=message.pk, tenant_id=tenant_id, found=found, now=now)
            looked_up += 1
    for message in queries.messages_sent_unchecked_before(before=now - SETTLE_SENT_AFTER, limit=BATCH_SIZE):
        answered, found = _ask_twilio(message)
        if answered:
            _settle_sent(message_id=message.pk, found=found, now=now)
            looked_up += 1
    return looked_up


def reconcile_all_tenants(*, now: datetime | None = None) -> int:
    """`reconcile_messages` in every active business that texts: one with a sender number,
    which is then its Twilio route (read in the public schema, not in each schema)."""
    return run_in_every_active_tenant(
        lambda tenant: reconcile_messages(tenant_id=tenant.pk, now=now),
        having=Q(provider_routes__provider=twilio.PROVIDER, provider_routes__kind=twilio.SENDER_KIND),
    )
