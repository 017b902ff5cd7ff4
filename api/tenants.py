"""The signed-in business's own profile and settings."""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpResponse
from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member, owner
from api.lists import paginate
from api.schemas import OMITTED, PatchSchema, RowId, StrictSchema, enum_of
from shared_apps.tenants import branding, custom_domains, dns_verification, services
from shared_apps.tenants.models import CustomDomain, Tenant
from shared_apps.tenants.services import tenant_host

router = Router(tags=["tenant"])


class TenantSettingsOut(Schema):
    id: int
    slug: str
    name: str
    domain: str
    status: Annotated[str, enum_of(Tenant.Status)]
    timezone: str
    currency: str
    country: str
    business_hours: dict[str, list[list[str]]]
    appointment_buffer_minutes: int
    max_appointment_minutes: int
    online_booking_confirm_first: bool = Field(
        description="Customers' online bookings wait for staff to accept them instead of booking at once."
    )
    online_booking_days_ahead: int = Field(description="How many local days ahead customers may book online.")
    payment_terms_days: int
    quote_validity_days: int
    quote_prefix: str
    invoice_prefix: str
    sms_sender: str
    vapi_assistant_id: str
    vapi_phone_number_id: str
    voice_greeting: str
    voice_record_calls: bool
    sms_booking_confirmation: bool
    sms_reminders: bool
    sms_reminder_hours: list[int]
    sms_quote_sent: bool
    sms_invoice_sent: bool
    payment_reminder_days: list[int] = Field(description="Days past due on which unpaid invoices are chased by text.")
    quiet_hours_start: str = Field(description='Local time "HH:MM" from which no automatic text is sent.')
    quiet_hours_end: str = Field(description='Local time "HH:MM" until which no automatic text is sent.')
    address: str = Field(description="Postal address (lines), printed on quotes and invoices.")
    phone: str = Field(description="Phone number (E.164), printed on quotes and invoices.")
    email: str = Field(description="Contact email, printed on quotes and invoices.")
    tax_id: str = Field(description="Tax number (VAT, EIN...), printed on quotes and invoices.")
    brand_color: str = Field(description='"#RRGGBB" of the business name and titles on documents and emails.')
    created_at: datetime

    # Resolved from services.tenant_settings: the profile and every app's section.
    @staticmethod
    def resolve_domain(settings: dict[str, Any]) -> str:
        return tenant_host(slug=settings["slug"])

    @staticmethod
    def resolve_quiet_hours_start(settings: dict[str, Any]) -> str:
        return settings["quiet_hours_start"].strftime("%H:%M")

    @staticmethod
    def resolve_quiet_hours_end(settings: dict[str, Any]) -> str:
        return settings["quiet_hours_end"].strftime("%H:%M")


class TenantSettingsIn(PatchSchema):
    name: str = Field(default=OMITTED, max_length=200)
    timezone: str = OMITTED
    currency: str = OMITTED
    country: str = OMITTED
    business_hours: dict[str, list[list[str]]] = OMITTED
    appointment_buffer_minutes: int = OMITTED
    max_appointment_minutes: int = OMITTED
    online_booking_confirm_first: bool = OMITTED
    online_booking_days_ahead: int = OMITTED
    payment_terms_days: int = OMITTED
    quote_validity_days: int = OMITTED
    quote_prefix: str = OMITTED
    invoice_prefix: str = OMITTED
    sms_sender: str = Field(default=OMITTED, max_length=32)
    vapi_assistant_id: str = Field(default=OMITTED, max_length=64)
    vapi_phone_number_id: str = Field(default=OMITTED, max_length=64)
    voice_greeting: str = Field(default=OMITTED, max_length=500)
    voice_record_calls: bool = OMITTED
    sms_booking_confirmation: bool = OMITTED
    sms_reminders: bool = OMITTED
    sms_reminder_hours: list[int] = Field(default=OMITTED, max_length=10)
    sms_quote_sent: bool = OMITTED
    sms_invoice_sent: bool = OMITTED
    payment_reminder_days: list[int] = Field(default=OMITTED, max_length=10)
    quiet_hours_start: str = Field(default=OMITTED, max_length=5)
    quiet_hours_end: str = Field(default=OMITTED, max_length=5)
    address: str = Field(default=OMITTED, max_length=600, description="At most 5 lines; blank: none.")
    phone: str = Field(default=OMITTED, max_length=32, description="International form (+...); blank: none.")
    email: str = Field(default=OMITTED, max_length=254, description="Blank: none.")
    tax_id: str = Field(default=OMITTED, max_length=50, description="VAT, EIN, ABN... as written; blank: none.")
    brand_color: str = Field(default=OMITTED, max_length=7, description='A hex colour, "#1A73E8"; blank: none.')


@router.get("/me", response=TenantSettingsOut, auth=member)
def get_my_tenant(request: ApiRequest):
    """The business's profile and settings."""
    return services.tenant_settings(tenant=request.auth.tenant)


@router.patch("/me", response=TenantSettingsOut, auth=manager)
def update_my_tenant(request: ApiRequest, payload: TenantSettingsIn):
    """Change the business's profile and settings (owners and admins); only the fields sent
    change."""
    return services.update_tenant_settings(tenant_id=request.auth.tenant_id, changes=payload.changes())


LOGO_BODY = {
    "requestBody": {
        "required": True,
        "description": f"The image itself: a PNG or JPEG of at most {branding.MAX_LOGO_BYTES // 1024} KB and "
        f"{branding.MAX_LOGO_SIDE} pixels a side (told by its bytes, not by Content-Type).",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in ("image/png", "image/jpeg")
        },
    }
}
LOGO_RESPONSE = {
    "description": "The logo.",
    "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in ("image/png", "image/jpeg")
    },
}


class LogoOut(Schema):
    content_type: str
    size: int
    sha256: str


@router.put("/me/logo", response=LogoOut, auth=manager, openapi_extra=LOGO_BODY)
def replace_my_logo(request: ApiRequest):
    """Upload the business's logo (owners and admins), printed on its quotes and invoices and
    shown in its emails; the body is the image."""
    logo = branding.store_logo(tenant=request.auth.tenant, content=request.body)
    return {"content_type": logo.content_type, "size": len(logo.content), "sha256": logo.sha256}


@router.get("/me/logo", auth=member, openapi_extra={"responses": {200: LOGO_RESPONSE}})
def get_my_logo(request: ApiRequest):
    """The business's logo; 404 when it has none."""
    logo = branding.require_tenant_logo(request.auth.tenant)
    response = HttpResponse(logo.content, content_type=logo.content_type)
    response["ETag"] = f'"{logo.sha256}"'
    return response


@router.delete("/me/logo", response={204: None}, auth=manager)
def remove_my_logo(request: ApiRequest):
    """Remove the logo (owners and admins)."""
    branding.remove_logo(tenant=request.auth.tenant)
    return 204, None


class DomainVerificationOut(Schema):
    type: str = Field(description="Always TXT.")
    name: str = Field(description="The record's name, `_sd-verify.<domain>`.")
    value: str


class CustomDomainOut(Schema):
    id: int
    domain: str
    verified: bool
    verified_at: datetime | None
    created_at: datetime
    verification: DomainVerificationOut = Field(
        description="The DNS record that proves the domain is yours; then POST .../verify."
    )

    @staticmethod
    def resolve_verified(custom: CustomDomain) -> bool:
        return custom.verified_at is not None

    @staticmethod
    def resolve_verification(custom: CustomDomain) -> dict[str, str]:
        return {
            "type": "TXT",
            "name": dns_verification.record_name(custom.domain),
            "value": dns_verification.record_value(custom.verification_token),
        }


class CustomDomainIn(StrictSchema):
    domain: str = Field(min_length=1, max_length=253, description="A host name of yours, e.g. book.acme.com.")


@router.get("/me/domains", response=list[CustomDomainOut], auth=member)
@paginate
def list_my_domains(request: ApiRequest):
    """The business's own domains, verified or waiting for their DNS record."""
    return custom_domains.list_custom_domains(tenant_id=request.auth.tenant_id)


@router.post("/me/domains", response={201: CustomDomainOut}, auth=owner)
def add_my_domain(request: ApiRequest, payload: CustomDomainIn):
    """Claim a domain (owners): publish the TXT record given in `verification`, then verify.
    409 when another business has proved the domain is theirs."""
    return 201, custom_domains.add_custom_domain(tenant_id=request.auth.tenant_id, domain=payload.domain)


@router.post("/me/domains/{domain_id}/verify", response=CustomDomainOut, auth=owner)
def verify_my_domain(request: ApiRequest, domain_id: RowId):
    """Look the TXT record up; once found the domain serves this business (over TLS behind
    Caddy). 409 `verification_failed` while the record is missing."""
    return custom_domains.verify_custom_domain(tenant_id=request.auth.tenant_id, domain_id=domain_id)


@router.delete("/me/domains/{domain_id}", response={204: None}, auth=owner)
def remove_my_domain(request: ApiRequest, domain_id: RowId):
    """Stop serving the business on this domain (owners)."""
    custom_domains.remove_custom_domain(tenant_id=request.auth.tenant_id, domain_id=domain_id)
    return 204, None
