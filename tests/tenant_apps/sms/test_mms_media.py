"""An inbound MMS's media are copied from Twilio (here the sandbox, which like Twilio serves
them to the account's Basic auth only) into file storage, as attachments of the message."""

import base64
import io

import pytest
import requests
from django.conf import settings as django_settings
from PIL import ExifTags, Image

from shared_apps import storage
from shared_apps.outbox.models import OutboxMessage
from tenant_apps.files.models import Attachment
from tenant_apps.sms import services
from tenant_apps.sms.gateway import SANDBOX_ACCOUNT_SID
from tenant_apps.sms.media import copy_inbound_media
from tests.factories import CustomerFactory
from tests.tenant_apps.files.helpers import jpeg_with_gps
from tests.tenant_apps.sms.sandbox import receiving_webhooks, running_sandbox

VCARD = b"BEGIN:VCARD\nVERSION:3.0\nFN:Ada\nEND:VCARD\n"


@pytest.fixture
def twilio_sandbox(settings):
    """The sandbox as this test's Twilio, posting inbound messages to a receiver of ours."""
    settings.TWILIO_ACCOUNT_SID = ""
    options = {"auth_token": django_settings.TWILIO_AUTH_TOKEN, "account_sid": SANDBOX_ACCOUNT_SID}
    with (
        receiving_webhooks(django_settings.TWILIO_AUTH_TOKEN) as receiver,
        running_sandbox(callbacks=False, inbound_url=receiver.url, **options) as (_, url),
    ):
        settings.TWILIO_SANDBOX_URL = url
        yield url, receiver


def texted(tenant, sandbox, media: list[tuple[str, bytes]]):
    """A customer's MMS through the sandbox, kept as the webhook's job keeps it."""
    url, receiver = sandbox
    with tenant.schema():
        customer = CustomerFactory(phone="+12025550612")
    answer = requests.post(
        f"{url}/sandbox/inbound",
        json={
            "from": customer.phone,
            "to": "+12025550100",
            "body": "This is the leak",
            "media": [
                {"content_type": content_type, "content_base64": base64.b64encode(data).decode()}
                for content_type, data in media
            ],
        },
        timeout=20,
    )
    assert answer.status_code == 200, answer.text
    params, verified = receiver.received[-1]
    assert verified
    with tenant.schema():
        return services.receive_inbound_message(
            tenant=tenant.tenant,
            provider_sid=params["MessageSid"],
            from_number=params["From"],
            to_number=params["To"],
            body=params["Body"],
            media=services.inbound_media(params),
        )


def test_an_mms_photo_becomes_an_attachment_of_the_message_without_its_gps(tenant_a, twilio_sandbox):
    message = texted(tenant_a, twilio_sandbox, [("image/jpeg", jpeg_with_gps()), ("text/vcard", VCARD)])
    with tenant_a.schema():
        queued = OutboxMessage.objects.filter(actor_name="copy_mms_media", kwargs={"message_id": message.pk})

        kept = copy_inbound_media(message_id=message.pk)
        again = copy_inbound_media(message_id=message.pk)
        [attachment] = Attachment.objects.filter(parent_type="message", parent_id=message.pk)
        stored = storage.read(attachment.key)

    assert (queued.count(), kept, again) == (1, 1, 0)
    assert (attachment.content_type, attachment.status, attachment.filename) == (
        "image/jpeg",
        "ready",
        f"mms-{message.pk}-1.jpg",
    )
    assert Image.open(io.BytesIO(stored)).getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    listed = tenant_a.api().get("/sms/messages").json()["items"][0]["media"]
    assert [(item.get("attachment_id"), item.get("not_kept")) for item in listed] == [
        (attachment.pk, None),
        (None, "file_type_not_allowed"),
    ]
    shown = tenant_a.api().get(f"/sms/messages/{message.pk}/attachments").json()["items"]
    assert [item["id"] for item in shown] == [attachment.pk]


def test_only_this_accounts_media_urls_at_twilio_get_the_credentials(tenant_a, twilio_sandbox):
    with tenant_a.schema():
        message = services.receive_inbound_message(
            tenant=tenant_a.tenant,
            provider_sid="MM" + "1" * 32,
            from_number="+12025550613",
            to_number="+12025550100",
            body="",
            media=[
                {
                    "url": f"http://127.0.0.1:9/2010-04-01/Accounts/{SANDBOX_ACCOUNT_SID}/Messages/MM1/Media/ME1",
                    "content_type": "image/jpeg",
                },
                {
                    "url": f"{twilio_sandbox[0]}/2010-04-01/Accounts/AC{'9' * 32}/Messages/MM1/Media/ME1",
                    "content_type": "image/jpeg",
                },
            ],
        )

        kept = copy_inbound_media(message_id=message.pk)
        message.refresh_from_db()

    assert kept == 0
    assert [item["not_kept"] for item in message.media] == ["twilio_refused", "twilio_refused"]
