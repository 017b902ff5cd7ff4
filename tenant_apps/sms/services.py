"""The rules for text messages: inbound messages are kept once and matched to a customer by
number, opt-out keywords update the customer, and a message's status only moves forward."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

from django.db import IntegrityError, transaction
from django.http import QueryDict

from shared_apps.errors import Conflict, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.flags import catalogue as flag_names
from shared_apps.flags import services as flags
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import twilio
from shared_apps.webhooks.models import WebhookEvent
from shared_apps.webhooks.services import claim_provider_route
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import require_contactable, resolve_recipient, set_sms_opt_out_by_phone
from tenant_apps.sms import gateway, queries
from tenant_apps.sms.models import Message, SmsSettings, SmsTemplate
from tenant_apps.sms.segments import count_segments
from tenant_apps.sms.templates import (
    TemplateContext,
    check_template_body,
    render_template,
    template_object,
    template_values,
)

Status = Message.Status

# Carrier keywords (whole message, any case), as Twilio applies them on long codes.
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
# Twilio's error for a recipient who replied STOP.
UNSUBSCRIBED_RECIPIENT = 21610
# Twilio refuses longer bodies (21617).
MAX_BODY_LENGTH = 1600
SEND_ACTOR = "send_sms"
# tenant_apps/sms/media.py copies an MMS's media into file storage.
COPY_MEDIA_ACTOR = "copy_mms_media"
# Twilio attaches at most 10 media files to one message.
MAX_MEDIA = 10

# Forward-only order of statuses. The final ones share the top rank, so none replaces another.
STATUS_RANK = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.DELIVERED: 3,
    Status.UNDELIVERED: 3,
    Status.FAILED: 3,
    Status.RECEIVED: 3,
}
# Twilio's MessageStatus values mapped to ours; others (receiving, partially_delivered) are ignored.
TWILIO_STATUSES = {
    "accepted": Status.QUEUED,
    "scheduled": Status.QUEUED,
    "queued": Status.QUEUED,
    "sending": Status.SENDING,
    "sent": Status.SENT,
    "delivered": Status.DELIVERED,
    "read": Status.DELIVERED,
    "undelivered": Status.UNDELIVERED,
    "failed": Status.FAILED,
    "canceled": Status.FAILED,
}


def opt_out_keyword(*, body: str, opt_out_type: str = "") -> bool | None:
    """True for an opt-out, False for an opt-in, None otherwise. Twilio's Advanced Opt-Out
    verdict (`OptOutType`) wins when present."""
    keyword = (opt_out_type or body).strip().upper()
    if keyword in OPT_OUT_KEYWORDS:
        return True
    if keyword in OPT_IN_KEYWORDS:
        return False
    return None


class MediaItem(TypedDict):
    """One attachment of an MMS: Twilio's URL for it (fetching needs the account's
    credentials) and its MIME type; once the copy job ran, the attachment that holds the file
    (`attachment_id`) or why none does (`not_kept`)."""

    url: str
    content_type: str
    attachment_id: NotRequired[int]
    not_kept: NotRequired[str]


def inbound_media(params: Mapping[str, str]) -> list[MediaItem]:
    """An inbound MMS's attachments from Twilio's webhook parameters: `NumMedia`, then
    `MediaUrl{N}` and `MediaContentType{N}` for N from 0. A plain text has none."""
    count = params.get("NumMedia", "")
    media: list[MediaItem] = []
    for index in range(min(int(count), MAX_MEDIA) if count.isdigit() else 0):
        url = params.get(f"MediaUrl{index}", "")
        if url:
            media.append({"url": url, "content_type": params.get(f"MediaContentType{index}", "")})
    return media


def receive_inbound_message(
    *,
    tenant: Tenant,
    provider_sid: str,
    from_number: str,
    to_number: str,
    body: str,
    media: Sequence[MediaItem] = (),
    opt_out_type: str = "",
) -> Message:
    """Keep an inbound text or MMS (with its media) once (a replay finds the first row and
    does nothing more), matched to the customer with that number (or unassigned); STOP/START
    keywords set that number's customers' opt-out, and HELP is answered with the business's
    name."""
    with transaction.atomic():
        existing = Message.objects.filter(provider_sid=provider_sid).first()
        if existing is not None:
            return existing
        segments = count_segments(body)
        message = Message.objects.create(
            direction=Message.Direction.INBOUND,
            from_number=from_number,
            to_number=to_number,
            body=body,
            status=Status.RECEIVED,
            segments=segments.count,
            encoding=segments.encoding,
            media=list(media),
            customer=customer_queries.find_customer_by_phone(phone=from_number),
            provider_sid=provider_sid,
        )
        emit("sms.received", message_id=message.pk, customer_id=message.customer_id)
        if media:
            enqueue_after_commit(actor_name=COPY_MEDIA_ACTOR, schema_name=tenant.schema_name, message_id=message.pk)
        opted_out = opt_out_keyword(body=body, opt_out_type=opt_out_type)
        if opted_out is not None:
            set_sms_opt_out_by_phone(phone=from_number, opted_out=opted_out)
        elif (opt_out_type or body).strip().upper() in HELP_KEYWORDS:
            _answer_help(tenant=tenant, to=from_number)
    return message


def _answer_help(*, tenant: Tenant, to: str) -> None:
    """Who is texting them and how to stop it; skipped for a number that cannot be texted."""
    try:
        queue_sms(tenant=tenant, to=to, body=f"{tenant.name}: reply STOP to stop texts from us.")
    except (Conflict, ValidationFailed):
        return


def apply_status_callback(*, provider_sid: str, twilio_status: str, error_code: int | None) -> Message | None:
    """Move a sent message's status forward. A late, repeated or backward callback changes
    nothing, and a final status sticks. 21610 (the recipient replied STOP) opts them out.
    Returns the message, or None for a message this tenant never sent."""
    new_status = TWILIO_STATUSES.get(twilio_status)
    with transaction.atomic():
        message = queries.get_message_for_update_by_sid(provider_sid=provider_sid)
        if message is None or new_status is None:
            return message
        advance_status(message, new_status=new_status, error_code=error_code)
    return message


def advance_status(message: Message, *, new_status: str, error_code: int | None) -> bool:
    """Move a locked message's status forward (never back, a final one sticks) and store
    Twilio's error code; 21610 opts the recipient out. Returns whether it moved."""
    if STATUS_RANK[Status(new_status)] <= STATUS_RANK[Status(message.status)]:
        return False
    message.status = new_status
    if error_code is not None:
        message.error_code = error_code
    message.save(update_fields=["status", "error_code", "updated_at"])
    if error_code == UNSUBSCRIBED_RECIPIENT:
        set_sms_opt_out_by_phone(phone=message.to_number, opted_out=True)
    if new_status in (Status.UNDELIVERED, Status.FAILED):
        emit(
            "sms.delivery_failed",
            message_id=message.pk,
            customer_id=message.customer_id,
            error_code=message.error_code,
        )
    return True


@dataclass(frozen=True)
class TemplateObjects:
    """What a templated text is about, by id (`variables` of POST /sms/send)."""

    appointment_id: int | None = None
    invoice_id: int | None = None
    quote_id: int | None = None


def _render_for(*, tenant: Tenant, template_id: int, objects: TemplateObjects, customer: Customer | None) -> str:
    """The template's text for these objects; the customer is the recipient's, else that of
    the appointment, invoice or quote. An id of another business's row is a 404."""
    template = queries.get_template(template_id=template_id)
    about = [
        template_object(tenant=tenant, kind=kind, object_id=object_id)
        for kind, object_id in (
            ("appointment", objects.appointment_id),
            ("invoice", objects.invoice_id),
            ("quote", objects.quote_id),
        )
        if object_id is not None
    ]
    if customer is None and about:
        customer = about[0].customer
    object_values = {name: value for found in about for name, value in found.values.items()}
    context = TemplateContext(tenant=tenant, customer=customer, object_values=object_values)
    return render_template(body=template.body, values=template_values(context))


INVALID_MESSAGE = "Invalid message."


def _invalid_message(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(INVALID_MESSAGE, details=[{"field": field, "message": message}])


def queue_sms(
    *,
    tenant: Tenant,
    body: str | None = None,
    customer_id: int | None = None,
    to: str | None = None,
    template_id: int | None = None,
    variables: TemplateObjects | None = None,
) -> Message:
    """Queue a text from the tenant's sender number to a customer (their phone) or a number;
    the `send_sms` job sends it after commit. The text is `body`, or template `template_id`
    rendered for `variables` (templates.py). Refused: no sender number (409), an opted-out
    recipient (409), texts switched off for the business (409), an empty or over-long text,
    an unknown or unfilled variable (400)."""
    flags.require_enabled(flag_names.SMS, tenant_id=tenant.pk)
    if (body is None) == (template_id is None):
        raise _invalid_message("body", "Give exactly one of body and template_id.")
    if variables is not None and template_id is None:
        raise _invalid_message("variables", "Variables fill a template: give template_id.")
    customer, to_number = resolve_recipient(
        customer_id=customer_id, to=to, region=tenant.country, invalid_title=INVALID_MESSAGE
    )
    if template_id is not None:
        body = _render_for(
            tenant=tenant, template_id=template_id, objects=variables or TemplateObjects(), customer=customer
        )
    assert body is not None
    if not body.strip() or len(body) > MAX_BODY_LENGTH:
        raise _invalid_message("body", f"1 to {MAX_BODY_LENGTH} characters.")
    sender = SmsSettings.load().sms_sender
    if not sender:
        raise Conflict("Set the business's sms_sender number before sending texts.", code="sms_sender_missing")
    require_contactable(phone=to_number)
    segments = count_segments(body)
    with transaction.atomic():
        message = Message.objects.create(
            direction=Message.Direction.OUTBOUND,
            from_number=sender,
            to_number=to_number,
            body=body,
            status=Status.QUEUED,
            segments=segments.count,
            encoding=segments.encoding,
            customer=customer,
        )
        enqueue_after_commit(
            actor_name=SEND_ACTOR, schema_name=tenant.schema_name, message_id=message.pk, tenant_id=tenant.pk
        )
    return message


def _template_name_taken() -> Conflict:
    return Conflict("A template with this name exists.", code="template_name_taken", details=[{"field": "name"}])


def create_template(*, name: str, body: str) -> SmsTemplate:
    """A named template; every variable in `body` must be one texts can fill (400 naming it).
    Names are unique in the business (409)."""
    check_template_body(body)
    try:
        with transaction.atomic():
            return SmsTemplate.objects.create(name=name.strip(), body=body)
    except IntegrityError:
        raise _template_name_taken() from None


def update_template(*, template_id: int, name: str | None = None, body: str | None = None) -> SmsTemplate:
    """Rename or rewrite a template (same checks as `create_template`)."""
    if body is not None:
        check_template_body(body)
    try:
        with transaction.atomic():
            template = queries.get_template_for_update(template_id=template_id)
            if name is not None:
                template.name = name.strip()
            if body is not None:
                template.body = body
            template.save(update_fields=["name", "body", "updated_at"])
    except IntegrityError:
        raise _template_name_taken() from None
    return template


def delete_template(*, template_id: int) -> None:
    """Delete a template; texts already sent from it keep their text."""
    with transaction.atomic():
        queries.get_template_for_update(template_id=template_id).delete()


def send_queued_sms(*, message_id: int, tenant_id: int) -> Message | None:
    """Hand a queued text to Twilio, once. It is marked `sending` (committed) before the call,
    so a job that runs again never sends it twice: Twilio has no idempotency key, and a send
    whose outcome is unknown (timeout) stays `sending` rather than being blindly retried.
    Twilio's refusal marks it failed with the error code (21610 also opts the number out).
    A text whose business switched texts off after queueing it fails without being sent."""
    with transaction.atomic():
        message = queries.get_message_for_update(message_id=message_id)
        if message is None or message.status != Status.QUEUED:
            return message
        if not flags.is_enabled(flag_names.SMS, tenant_id=tenant_id):
            message.note = "Texts were switched off for the business before it was sent."
            message.save(update_fields=["note"])
            advance_status(message, new_status=Status.FAILED, error_code=None)
            return message
        message.status = Status.SENDING
        message.save(update_fields=["status", "updated_at"])
    try:
        sent = gateway.send_message(to=message.to_number, from_=message.from_number, body=message.body)
    except gateway.TwilioRefused as error:
        with transaction.atomic():
            message = queries.get_message_for_update(message_id=message_id)
            assert message is not None  # a message is never deleted, least of all while sending
            advance_status(message, new_status=Status.FAILED, error_code=error.code)
        return message
    with transaction.atomic():
        message = queries.get_message_for_update(message_id=message_id)
        assert message is not None  # a message is never deleted, least of all while sending
        message.provider_sid = sent.sid
        accepted = TWILIO_STATUSES.get(sent.status)
        if accepted is not None and STATUS_RANK[accepted] > STATUS_RANK[Status(message.status)]:
            message.status = accepted
        message.save(update_fields=["provider_sid", "status", "updated_at"])
        # Status callbacks are routed to this tenant by the MessageSid.
        claim_provider_route(
            tenant_id=tenant_id, provider=twilio.PROVIDER, kind=twilio.MESSAGE_KIND, external_id=sent.sid
        )
    return message


def handle_twilio_event(event: WebhookEvent) -> None:
    """The pipeline's handler for Twilio events (run in the owning tenant's schema)."""
    params = QueryDict(bytes(event.body))
    message_sid = params.get("MessageSid") or params.get("SmsSid", "")
    twilio_status = params.get("MessageStatus")
    if twilio_status:
        error_code = params.get("ErrorCode", "")
        message = apply_status_callback(
            provider_sid=message_sid,
            twilio_status=twilio_status,
            error_code=int(error_code) if error_code.isdigit() else None,
        )
        if message is None:
            # The send job may not have stored the MessageSid yet: fail, so the job retries.
            raise LookupError(f"No message {message_sid} in this business (yet).")
    else:
        assert event.tenant is not None  # the pipeline hands handlers routed events only
        receive_inbound_message(
            tenant=event.tenant,
            provider_sid=message_sid,
            from_number=params.get("From", ""),
            to_number=params.get("To", ""),
            body=params.get("Body", ""),
            media=inbound_media(params),
            opt_out_type=params.get("OptOutType", ""),
        )
