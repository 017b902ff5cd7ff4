"""SMS: the tenant's messages, and Twilio's webhook (public, API host)."""

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.pagination import paginate
from pydantic import Field
from twilio.twiml.messaging_response import MessagingResponse

from api.auth import member
from api.public_url import public_request_url
from api.schemas import StrictSchema
from shared_apps.errors import NotFound
from shared_apps.webhooks import twilio
from tenant_apps.sms import queries, services
from tenant_apps.sms.models import Message

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


class MessageOut(Schema):
    id: int
    customer_id: int | None
    direction: str
    from_number: str = Field(serialization_alias="from")
    to_number: str = Field(serialization_alias="to")
    body: str
    status: str
    error_code: int | None
    segments: int
    encoding: str
    created_at: datetime


@router.get("/messages", response=list[MessageOut], auth=member, by_alias=True)
@paginate
def list_messages(request: HttpRequest, customer_id: int | None = None, direction: Message.Direction | None = None):
    """Texts both ways, newest first; inbound texts from unknown numbers have no customer."""
    return queries.list_messages(customer_id=customer_id, direction=direction)


class SendIn(StrictSchema):
    customer_id: int | None = None
    to: str | None = Field(default=None, max_length=32)
    body: str


class QueuedOut(Schema):
    id: int
    status: str


@router.post("/send", response={202: QueuedOut}, auth=member)
def send_sms(request: HttpRequest, payload: SendIn):
    """Queue a text from the business's sms_sender; it is sent by a job."""
    message = services.queue_sms(
        tenant=request.auth.tenant, body=payload.body, customer_id=payload.customer_id, to=payload.to
    )
    return 202, message
