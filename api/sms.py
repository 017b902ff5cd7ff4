"""SMS: Twilio's webhook (public, API host)."""

from django.http import HttpRequest, HttpResponse
from ninja import Router
from twilio.twiml.messaging_response import MessagingResponse

from api.public_url import public_request_url
from shared_apps.errors import NotFound
from shared_apps.webhooks import twilio

router = Router(tags=["sms"])


@router.post("/webhook", auth=None)
def twilio_webhook(request: HttpRequest):
    """Inbound messages and status callbacks from Twilio (X-Twilio-Signature). Stored once and
    answered at once with empty TwiML; processing runs in a job. Forged or unsigned: 403."""
    if request.tenant is not None:
        raise NotFound("Webhooks are served on the API host.")
    body = request.body
    twilio.receive_twilio_webhook(
        url=public_request_url(request),
        params=request.POST,
        signature=request.headers.get("X-Twilio-Signature"),
        body=body,
        content_type=request.content_type or "",
    )
    return HttpResponse(str(MessagingResponse()), content_type="text/xml")
