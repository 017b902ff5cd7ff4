"""SMS: the tenant's messages, and Twilio's webhook (public, API host)."""

from datetime import datetime
from typing import Annotated

from django.http import HttpResponse
from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.lists import paginate
from api.public_url import public_request_url
from api.schemas import OMITTED, PatchSchema, RowId, StrictSchema, enum_of
from api.tenancy import require_api_host
from shared_apps.webhooks import twilio
from tenant_apps.sms import gateway, queries, services
from tenant_apps.sms.models import Message, SmsTemplate
from tenant_apps.sms.services import MAX_BODY_LENGTH
from tenant_apps.sms.templates import template_variables

router = Router(tags=["sms"])


@router.post("/webhook", auth=None)
def twilio_webhook(request: ApiRequest):
    """Inbound messages and status callbacks from Twilio (X-Twilio-Signature). Stored once and
    answered at once with empty TwiML; processing runs in a job. Forged or unsigned: 403."""
    require_api_host(request)
    body = request.body
    twilio.receive_twilio_webhook(
        url=public_request_url(request),
        params=request.POST,
        signature=request.headers.get("X-Twilio-Signature"),
        body=body,
        content_type=request.content_type or "",
    )
    return HttpResponse(gateway.EMPTY_TWIML, content_type="text/xml")


class MediaOut(Schema):
    """An MMS attachment: Twilio's URL (fetched with the account's credentials) and MIME type.
    A job copies each into file storage: then `attachment_id` names the attachment of the
    message (GET /attachments/{id}/download), or `not_kept` says why it was not kept
    (`file_type_not_allowed`, `file_too_large`, `storage_quota_exceeded`, `twilio_refused`)."""

    url: str
    content_type: str
    attachment_id: int | None = None
    not_kept: str | None = None


class MessageOut(Schema):
    id: int
    customer_id: int | None
    direction: Annotated[str, enum_of(Message.Direction)]
    from_number: str = Field(serialization_alias="from")
    to_number: str = Field(serialization_alias="to")
    body: str
    status: Annotated[str, enum_of(Message.Status)]
    error_code: int | None
    # Why an automatic text was skipped, or a text failed without a Twilio error code.
    note: str
    segments: int
    encoding: str
    # An MMS's attachments; [] for a plain text.
    media: list[MediaOut]
    created_at: datetime


@router.get("/messages", response=list[MessageOut], auth=member, by_alias=True)
@paginate
def list_messages(request: ApiRequest, customer_id: int | None = None, direction: Message.Direction | None = None):
    """Texts both ways, newest first; inbound texts from unknown numbers have no customer."""
    return queries.list_messages(customer_id=customer_id, direction=direction)


class TemplateObjectsIn(StrictSchema):
    """The rows a template's variables are read from (docs/api.md, "SMS templates")."""

    appointment_id: RowId | None = None
    invoice_id: RowId | None = None
    quote_id: RowId | None = None


class SendIn(StrictSchema):
    """`customer_id` or `to`; `body`, or `template_id` with `variables`."""

    customer_id: RowId | None = None
    to: str | None = Field(default=None, max_length=32)
    body: str | None = Field(default=None, max_length=10_000)
    template_id: RowId | None = None
    variables: TemplateObjectsIn | None = None


class QueuedOut(Schema):
    id: int
    status: Annotated[str, enum_of(Message.Status)]


@router.post("/send", response={202: QueuedOut}, auth=member)
def send_sms(request: ApiRequest, payload: SendIn):
    """Queue a text from the business's sms_sender; it is sent by a job."""
    message = services.queue_sms(
        tenant=request.auth.tenant,
        body=payload.body,
        customer_id=payload.customer_id,
        to=payload.to,
        template_id=payload.template_id,
        variables=services.TemplateObjects(**payload.variables.model_dump()) if payload.variables else None,
    )
    return 202, message


class TemplateOut(Schema):
    id: int
    name: str
    body: str
    variables: list[str]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_variables(template: SmsTemplate) -> list[str]:
        return template_variables(template.body)


class TemplateIn(StrictSchema):
    name: str = Field(min_length=1, max_length=100)
    body: str = Field(min_length=1, max_length=MAX_BODY_LENGTH)


class TemplatePatch(PatchSchema):
    name: str = Field(default=OMITTED, min_length=1, max_length=100)
    body: str = Field(default=OMITTED, min_length=1, max_length=MAX_BODY_LENGTH)


@router.get("/templates", response=list[TemplateOut], auth=member)
@paginate
def list_templates(request: ApiRequest):
    """The business's SMS templates."""
    return queries.list_templates()


@router.post("/templates", response={201: TemplateOut}, auth=manager)
def create_template(request: ApiRequest, payload: TemplateIn):
    """A body may use {customer_name}, {business_name}, {appointment_time}, {invoice_number},
    {amount_due}, {pay_url}, {quote_number} and {quote_total}; another name answers 400 naming it."""
    return 201, services.create_template(name=payload.name, body=payload.body)


@router.get("/templates/{template_id}", response=TemplateOut, auth=member)
def get_template(request: ApiRequest, template_id: RowId):
    """One SMS template."""
    return queries.get_template(template_id=template_id)


@router.patch("/templates/{template_id}", response=TemplateOut, auth=manager)
def update_template(request: ApiRequest, template_id: RowId, payload: TemplatePatch):
    """Change an SMS template (owners and admins); unknown `{variables}` answer 400."""
    return services.update_template(template_id=template_id, **payload.changes())


@router.delete("/templates/{template_id}", response={204: None}, auth=manager)
def delete_template(request: ApiRequest, template_id: RowId):
    """Delete an SMS template (owners and admins)."""
    services.delete_template(template_id=template_id)
    return 204, None
