"""Finding out what happened to texts whose send had no clear outcome.

Twilio has no idempotency key, so a send that timed out is never retried: it stays `sending`.
This periodic pass asks Twilio instead: by MessageSid when we have it (a lost status
callback), else by listing the messages to that number from our sender and matching the
body (the create call timed out after Twilio accepted it). A text Twilio still has no record
of after GIVE_UP_AFTER was never accepted and is marked failed; one Twilio cannot be reached
about stays `sending` for the next pass."""

import logging
from datetime import datetime, timedelta

import requests
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest.api.v2010.account.message import MessageInstance

from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import twilio
from shared_apps.webhooks.services import claim_provider_route
from tenant_apps.sms import queries
from tenant_apps.sms.models import Message
from tenant_apps.sms.provider import twilio_client
from tenant_apps.sms.services import TWILIO_STATUSES, advance_status

logger = logging.getLogger("sms.reconcile")

# A text is looked up once it has been `sending` this long (callbacks normally come sooner).
RECONCILE_AFTER = timedelta(minutes=2)
# Twilio's list may lag behind a create; after this long without a record, it was never sent.
GIVE_UP_AFTER = timedelta(minutes=30)
# Twilio's date_created is to the second and our clocks differ a little.
CLOCK_SLACK = timedelta(minutes=1)
BATCH_SIZE = 100
NOT_SENT_NOTE = "Twilio has no record of this text: it was not sent."


def _find_at_twilio(message: Message) -> MessageInstance | None:
    """Twilio's record of `message`, or None when it has none. Raises when Twilio cannot be
    asked (transport error, server error)."""
    client = twilio_client()
    if message.provider_sid:
        try:
            return client.messages(message.provider_sid).fetch()
        except TwilioRestException as error:
            if error.status == 404:
                return None
            raise
    candidates = [
        sent
        for sent in client.messages.list(to=message.to_number, from_=message.from_number, limit=50)
        if sent.body == message.body and sent.date_created and sent.date_created >= message.created_at - CLOCK_SLACK
    ]
    taken = queries.claimed_sids(sids=[sent.sid for sent in candidates])
    # Oldest first: of two identical texts, the first one sent is ours.
    unclaimed = sorted((sent for sent in candidates if sent.sid not in taken), key=lambda sent: sent.date_created)
    return unclaimed[0] if unclaimed else None


def _settle(*, message_id: int, tenant_id: int, found: MessageInstance | None, now: datetime) -> None:
    with transaction.atomic():
        message = queries.get_message_for_update(message_id=message_id)
        if message is None or message.status != Message.Status.SENDING:
            return
        if found is None:
            if now - message.created_at >= GIVE_UP_AFTER:
                message.status = Message.Status.FAILED
                message.note = NOT_SENT_NOTE
                message.save(update_fields=["status", "note", "updated_at"])
            return
        if not message.provider_sid:
            message.provider_sid = found.sid
            message.save(update_fields=["provider_sid", "updated_at"])
            claim_provider_route(
                tenant_id=tenant_id, provider=twilio.PROVIDER, kind=twilio.MESSAGE_KIND, external_id=found.sid
            )
        new_status = TWILIO_STATUSES.get(found.status or "")
        if new_status is not None:
            advance_status(message, new_status=new_status, error_code=found.error_code)


def reconcile_sending_messages(*, tenant_id: int, now: datetime | None = None) -> int:
    """Settle the current schema's texts stuck in `sending`; returns how many were looked up.
    Never sends anything."""
    now = now or timezone.now()
    looked_up = 0
    for message in queries.messages_sending_before(before=now - RECONCILE_AFTER, limit=BATCH_SIZE):
        try:
            found = _find_at_twilio(message)
        except (TwilioException, requests.RequestException):
            logger.warning("Could not ask Twilio about a text", exc_info=True, extra={"message_id": message.pk})
            continue
        _settle(message_id=message.pk, tenant_id=tenant_id, found=found, now=now)
        looked_up += 1
    return looked_up


def reconcile_all_tenants(*, now: datetime | None = None) -> int:
    """`reconcile_sending_messages` in every active business that texts."""
    looked_up = 0
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE).exclude(sms_sender="").order_by("id"):
        with tenant_context(tenant):
            looked_up += reconcile_sending_messages(tenant_id=tenant.pk, now=now)
    return looked_up
