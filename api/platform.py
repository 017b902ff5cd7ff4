"""Platform administration: every tenant, for platform admins only."""

from datetime import date, datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Path, Query, Router, Schema
from pydantic import Field, field_validator

from api.audit import AuditEventOut, AuditFilters, page
from api.auth import ApiRequest, platform_admin
from api.idempotency import idempotent
from api.invitations import IssuedInvitationOut, issued_out
from api.lists import paginate
from api.schemas import RowId, StorableSchema, StrictSchema, enum_of
from shared_apps.accounts import invitations
from shared_apps.flags import services as flags
from shared_apps.outbox import queries as outbox_queries
from shared_apps.stats import services as stats
from shared_apps.tenants import queries, services
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import queries as webhook_queries
from shared_apps.webhooks.models import WebhookEvent

router = Router(tags=["platform"], auth=platform_admin)


class PlatformTenantOut(Schema):
    id: int
    slug: str
    name: str
    status: Annotated[str, enum_of(Tenant.Status)]
    schema_name: str
    timezone: str
    currency: str
    created_at: datetime
    activated_at: datetime | None
    deletion_due_at: datetime | None = Field(
        description="Set while the tenant is being deleted: its schema is dropped at this instant unless restored."
    )


class PlatformTenantIn(StrictSchema):
    slug: str = Field(max_length=63)
    name: str = Field(min_length=1, max_length=200)
    timezone: str = "UTC"
    currency: str = "usd"
    owner_email: str | None = Field(
        default=None,
        max_length=254,
        description="Invite this email as the business's owner: the link is mailed and answered once.",
    )


class PlatformTenantCreatedOut(PlatformTenantOut):
    owner_invitation: IssuedInvitationOut | None = Field(
        description="The owner's invitation when `owner_email` was given; nobody is a member until it is accepted."
    )


class TenantFilters(StorableSchema):
    status: Annotated[str, enum_of((Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED))] | None = Field(
        default=None, description="Only tenants in this status."
    )


class WebhookEventFilters(StorableSchema):
    status: WebhookEvent.Status | None = Field(default=None, description="Only events in this state.")
    provider: str | None = Field(default=None, description="Only this provider's events: stripe, twilio or vapi.")


class OutboxFilters(StorableSchema):
    status: outbox_queries.OutboxStatus | None = Field(default=None, description="Only messages in this state.")


class PlatformTenantPatch(StrictSchema):
    status: Annotated[str, enum_of((Tenant.Status.ACTIVE, Tenant.Status.SUSPENDED))]


@router.get("/tenants", response=list[PlatformTenantOut])
@paginate
def list_tenants(request: HttpRequest, filters: Query[TenantFilters]):
    """Every claimed tenant (business), newest first."""
    return queries.list_tenants(status=filters.status)


@router.post("/tenants", response={201: PlatformTenantCreatedOut})
@idempotent
def create_tenant(request: ApiRequest, payload: PlatformTenantIn):
    """Create a business (platform admins). With `owner_email`, an owner invitation is sent and
    its link answered."""
    tenant, invitation = invitations.create_tenant_inviting_owner(
        slug=payload.slug,
        name=payload.name,
        timezone_name=payload.timezone,
        currency=payload.currency,
        owner_email=payload.owner_email,
        inviter_id=request.auth.user_id,
    )
    owner_invitation = issued_out(invitation) if invitation is not None else None
    return 201, {**PlatformTenantOut.from_orm(tenant).model_dump(), "owner_invitation": owner_invitation}


@router.get("/tenants/{tenant_id}", response=PlatformTenantOut)
def get_tenant(request: HttpRequest, tenant_id: RowId):
    """One business (platform admins)."""
    return queries.get_claimed_tenant(tenant_id=tenant_id)


@router.patch("/tenants/{tenant_id}", response=PlatformTenantOut)
def update_tenant_status(request: HttpRequest, tenant_id: RowId, payload: PlatformTenantPatch):
    """Suspend or reactivate a business (platform admins); a suspended business answers 403 on
    every route."""
    return services.set_tenant_status(tenant_id=tenant_id, status=payload.status)


@router.delete("/tenants/{tenant_id}", response={204: None})
def delete_tenant(request: HttpRequest, tenant_id: RowId):
    """Suspends the tenant at once; its data is dropped TENANT_DELETION_GRACE_DAYS later
    unless it is restored (`POST /platform/tenants/{id}/restore`) before."""
    services.schedule_tenant_deletion(tenant_id=tenant_id)
    return 204, None


@router.post("/tenants/{tenant_id}/restore", response=PlatformTenantOut)
def restore_tenant(request: HttpRequest, tenant_id: RowId):
    """Cancel a pending deletion: the tenant is active again (409 if none is pending)."""
    return services.restore_tenant(tenant_id=tenant_id)


class WebhookEventOut(Schema):
    id: int
    provider: str
    dedupe_key: str
    tenant_id: int | None
    status: Annotated[str, enum_of(WebhookEvent.Status)]
    content_type: str
    body: str
    received_at: datetime
    processed_at: datetime | None
    attempts: int
    last_error: str

    @staticmethod
    def resolve_body(event: WebhookEvent) -> str:
        return bytes(event.body).decode("utf-8", errors="replace")


@router.get("/webhook-events", response=list[WebhookEventOut])
@paginate
def list_webhook_events(request: HttpRequest, filters: Query[WebhookEventFilters]):
    """Stored provider events, newest first; `?status=unrouted` lists those no tenant owns
    (replay one with `manage.py replay_webhook_event ID`)."""
    return webhook_queries.list_webhook_events(status=filters.status, provider=filters.provider)


class OutboxMessageOut(Schema):
    id: int
    actor_name: str
    schema_name: str
    kwargs: dict
    created_at: datetime
    run_at: datetime | None
    published_at: datetime | None
    dead_at: datetime | None
    attempts: int
    last_error: str


@router.get("/outbox", response=list[OutboxMessageOut])
@paginate
def list_outbox_messages(request: HttpRequest, filters: Query[OutboxFilters]):
    """Jobs waiting, published or dead, newest first; `?status=dead` lists those parked after
    repeated failed publishes (queue one again with `manage.py retry_outbox_message ID`)."""
    return outbox_queries.list_outbox_messages(status=filters.status)


class PlatformAuditEventOut(AuditEventOut):
    tenant_id: int | None = Field(description="The business it concerns; null for platform-wide actions.")


class PlatformAuditPageOut(Schema):
    items: list[PlatformAuditEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class PlatformAuditFilters(AuditFilters):
    tenant_id: RowId | None = Field(default=None, description="Only this business's trail.")


@router.get("/audit-events", response=PlatformAuditPageOut)
def list_audit_events(request: HttpRequest, filters: Query[PlatformAuditFilters]):
    """The whole platform's audit trail, newest first (every business's, and platform-wide
    actions such as refused sign-ins naming no business or a flag's rollout)."""
    return page(filters, tenant_id=filters.tenant_id, whole_platform=True)


class FlagOut(Schema):
    name: str
    description: str
    default: bool = Field(description="On or off for every business without a rollout or an override.")
    rollout_percent: int | None = Field(
        description="On for this share of businesses (a stable hash of each), instead of the default; null: none."
    )


class TenantFlagOut(FlagOut):
    override: bool | None = Field(description="This business's own setting; null: none.")
    enabled: bool = Field(description="Whether the flag is on for this business now.")


class RolloutIn(StrictSchema):
    rollout_percent: int | None = Field(ge=0, le=100, description="0 to 100; null goes back to the default.")


class TenantFlagIn(StrictSchema):
    enabled: bool | None = Field(description="On or off for this business; null drops the override.")


@router.get("/flags", response=list[FlagOut])
def list_flags(request: HttpRequest):
    """Every feature flag declared in code, with its default and rollout."""
    return flags.list_flags()


class FlagPath(Schema):
    name: str = Field(max_length=64, description="The flag's name (`GET /platform/flags` lists them).")


class TenantFlagPath(FlagPath):
    tenant_id: RowId = Field(description="The business's id.")


@router.put("/flags/{name}", response=FlagOut)
def set_flag_rollout(request: HttpRequest, path: Path[FlagPath], payload: RolloutIn):
    """Roll a flag out to a share of businesses (or back to its default). Audited; every
    process sees it within a second."""
    return flags.set_rollout(name=path.name, percent=payload.rollout_percent)


@router.get("/tenants/{tenant_id}/flags", response=list[TenantFlagOut])
def list_tenant_flags(request: HttpRequest, tenant_id: RowId):
    """Every flag as it is for one business: its override and whether it is on."""
    return services.list_tenant_flags(tenant_id=tenant_id)


@router.put("/tenants/{tenant_id}/flags/{name}", response=TenantFlagOut)
def set_tenant_flag(request: HttpRequest, path: Path[TenantFlagPath], payload: TenantFlagIn):
    """Switch a flag on or off for one business (null drops the override). Audited in the
    business's trail; every process sees it within a second. An integration switched off
    answers 409 `integration_disabled`, and its provider webhooks are stored, not run, until
    it is on again."""
    return services.set_tenant_flag(tenant_id=path.tenant_id, name=path.name, enabled=payload.enabled)


class SignupsOut(Schema):
    day: date = Field(description="A UTC calendar day.")
    count: int


class CardVolumeOut(Schema):
    currency: str
    amount: int = Field(description="Minor units.")


class UsageTotalsOut(Schema):
    sms_segments: int = 0
    call_minutes: int = 0
    storage_bytes: int = 0
    card_volume: list[CardVolumeOut] = []


class TenantUsageOut(Schema):
    tenant_id: int
    slug: str
    status: str
    sms_segments: int
    call_minutes: int
    card_volume: int = Field(description="Minor units of `currency`.")
    currency: str
    storage_bytes: int
    last_active_at: datetime | None
    computed_at: datetime = Field(description="When the usage job measured this business.")


class WebhookRateOut(Schema):
    received: int
    failed: int
    failure_rate: float = Field(description="Failed over received, 0 to 1.")


class PlatformStatsOut(Schema):
    snapshot_at: datetime | None = Field(
        description="When the platform figures were measured (every minute); null before the first time."
    )
    tenants_by_status: dict[str, int]
    signups_per_day: list[SignupsOut] = Field(description="Businesses created per UTC day over the last 30 days.")
    active_last_30_days: int = Field(description="Businesses whose members signed in within 30 days.")
    usage_totals: UsageTotalsOut = Field(description="Over the last 30 days, across businesses.")
    webhooks: dict[str, WebhookRateOut] = Field(description="Provider webhooks of the last day, per provider.")
    queue_depth: dict[str, int] = Field(description="Jobs waiting per queue.")
    top_usage: list[TenantUsageOut] = Field(
        description="The biggest users by `sort` over the last 30 days, as the hourly usage job measured them."
    )
    dead_outbox: int = Field(description="Jobs parked after repeated failed publishes (now).")
    outbox_backlog: int = Field(description="Jobs written and not yet published, due or later (now).")


class StatsParams(StorableSchema):
    sort: Annotated[str, enum_of(stats.SORTS)] = Field(
        default="sms_segments", description="Order of `top_usage`: " + ", ".join(stats.SORTS) + "."
    )
    limit: int = Field(default=20, ge=1, le=200, description="How many businesses `top_usage` lists.")

    @field_validator("sort")
    @classmethod
    def _known_sort(cls, value: str) -> str:
        if value not in stats.SORTS:
            raise ValueError(f"One of {', '.join(stats.SORTS)}.")
        return value


@router.get("/stats", response=PlatformStatsOut)
def platform_stats(request: HttpRequest, params: Query[StatsParams]):
    """How the platform is doing: businesses by status, sign-ups, active businesses, usage
    (texts, call minutes, card volume, storage) in total and per business, provider webhook
    failure rates, dead outbox rows and queue depth. Usage comes from rollups the scheduler's
    jobs write; no business's schema is read here."""
    return stats.platform_stats(sort=params.sort, limit=params.limit)
