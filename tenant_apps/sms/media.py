"""An inbound MMS's media, copied from Twilio into the business's file storage as attachments
of the message (a job after the webhook: Twilio deletes nothing, but its URLs need the
account's credentials, and clients should see the pictures without them)."""

import logging
import mimetypes

from django.conf import settings
from django.db import transaction

from shared_apps.errors import Conflict
from tenant_apps.files import services as files
from tenant_apps.files.content import ContentRefused
from tenant_apps.files.models import Attachment
from tenant_apps.sms import gateway, queries

logger = logging.getLogger("sms.media")


def copy_inbound_media(*, message_id: int) -> int:
    """Copy each media item of an inbound text not copied yet; answers how many were kept.

    Each item is settled in its own transaction: it gets `attachment_id`, or `not_kept` with
    the reason (a type we do not keep, such as a vCard or a video, a full quota, a file Twilio
    refused). Twilio not answering raises, so the job is retried for the items left."""
    message = queries.get_message(message_id=message_id)
    if message is None:
        return 0
    kept = 0
    for index in range(len(message.media)):
        with transaction.atomic():
            locked = queries.get_message_for_update(message_id=message_id)
            if locked is None:
                return kept
            item = locked.media[index]
            if "attachment_id" in item or "not_kept" in item:
                continue
            try:
                data = gateway.download_media(
                    url=item["url"], max_bytes=settings.ATTACHMENT_MAX_BYTES, timeout=settings.MMS_MEDIA_TIMEOUT
                )
                extension = mimetypes.guess_extension(item.get("content_type", "")) or ""
                attachment = files.attach_bytes(
                    parent_type=Attachment.Parent.MESSAGE,
                    parent_id=locked.pk,
                    filename=f"mms-{locked.pk}-{index + 1}{extension}",
                    data=data,
                )
            except gateway.TwilioRefused as refused:
                item["not_kept"] = "twilio_refused" if refused.status != 413 else "file_too_large"
            except ContentRefused as refused:
                item["not_kept"] = refused.code
            except Conflict as full:
                item["not_kept"] = full.code
            else:
                item["attachment_id"] = attachment.pk
                kept += 1
            locked.save(update_fields=["media", "updated_at"])
    return kept
