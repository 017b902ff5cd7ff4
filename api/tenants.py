"""The signed-in business's own profile and settings."""

from datetime import datetime

from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.schemas import OMITTED, PatchSchema
from shared_apps.tenants import services
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.services import tenant_host

router = Router(tags=["tenant"])


class TenantSettingsOut(Schema):
    id: int
    slug: str
    name: str
    domain: str
    status: str
    timezone: str
    currency: str
    country: str
    business_hours: dict[str, list[list[str]]]
    appointment_buffer_minutes: int
    max_appointment_minutes: int
    payment_terms_days: int
    quote_validity_days: int
    quote_prefix: str
    invoice_prefix: str
    sms_sender: str
    vapi_assistant_id: str
    sms_booking_confirmation: bool
    sms_reminders: bool
    sms_reminder_hours: list[int]
    sms_quote_sent: bool
    sms_invoice_sent: bool
    payment_reminder_days: list[int] = Field(description="Days past due on which unpaid invoices are chased by text.")
    quiet_hours_start: str = Field(description='Local time "HH:MM" from which no automatic text is sent.')
    quiet_hours_end: str = Field(description='Local time "HH:MM" until which no automatic text is sent.')
    created_at: datetime

    @staticmethod
    def resolve_domain(tenant: Tenant) -> str:
        return tenant_host(slug=tenant.claimed_slug)

    @staticmethod
    def resolve_quiet_hours_start(tenant: Tenant) -> str:
        return tenant.quiet_hours_start.strftime("%H:%M")

    @staticmethod
    def resolve_quiet_hours_end(tenant: Tenant) -> str:
        return tenant.quiet_hours_end.strftime("%H:%M")


class TenantSettingsIn(PatchSchema):
    name: str = Field(default=OMITTED, max_length=200)
    timezone: str = OMITTED
    currency: str = OMITTED
    country: str = OMITTED
    business_hours: dict[str, list[list[str]]] = OMITTED
    appointment_buffer_minutes: int = OMITTED
    max_appointment_minutes: int = OMITTED
    payment_terms_days: int = OMITTED
    quote_validity_days: int = OMITTED
    quote_prefix: str = OMITTED
    invoice_prefix: str = OMITTED
    sms_sender: str = Field(default=OMITTED, max_length=32)
    vapi_assistant_id: str = Field(default=OMITTED, max_length=64)
    sms_booking_confirmation: bool = OMITTED
    sms_reminders: bool = OMITTED
    sms_reminder_hours: list[int] = Field(default=OMITTED, max_length=10)
    sms_quote_sent: bool = OMITTED
    sms_invoice_sent: bool = OMITTED
    payment_reminder_days: list[int] = Field(default=OMITTED, max_length=10)
    quiet_hours_start: str = Field(default=OMITTED, max_length=5)
    quiet_hours_end: str = Field(default=OMITTED, max_length=5)


@router.get("/me", response=TenantSettingsOut, auth=member)
def get_my_tenant(request: ApiRequest):
    return request.auth.tenant


@router.patch("/me", response=TenantSettingsOut, auth=manager)
def update_my_tenant(request: ApiRequest, payload: TenantSettingsIn):
    return services.update_tenant_settings(tenant_id=request.auth.tenant_id, changes=payload.changes())
