"""The business's audit trail (owners and admins), a keyset page at a time."""

from datetime import datetime
from typing import Any

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager
from api.schemas import InstantIn, RowId, StorableSchema
from shared_apps.audit import services

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    id: int
    occurred_at: datetime
    action: str = Field(description="What was done: `auth.login`, `member.role_changed`, `tenant.settings_changed`...")
    actor: str = Field(description="`user:<id>`, or a system actor: `system`, `scheduler`, `stripe`, `twilio`, `vapi`.")
    actor_user_id: int | None
    target: str = Field(description="What it was done to: `user:<id>`, `invitation:<id>`, `payment:<id>`...")
    ip: str | None
    user_agent: str
    request_id: str
    details: dict[str, Any] = Field(description="The action's facts; settings changes as {field: {before, after}}.")


class AuditPageOut(Schema):
    items: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class AuditFilters(StorableSchema):
    actor: RowId | None = Field(default=None, description="Only what this user did (their id).")
    action: str | None = Field(
        default=None,
        max_length=64,
        description='Only this action; ending in "." a family of them (`invitation.`).',
    )
    since: InstantIn | None = Field(default=None, description="Only from this instant on.")
    until: InstantIn | None = Field(default=None, description="Only before this instant.")
    limit: int = Field(default=50, ge=1, le=200, description="How many rows to answer at most.")
    cursor: str | None = Field(
        default=None, max_length=500, description="`next_cursor` of the previous page (same filters)."
    )


def page(filters: AuditFilters, *, tenant_id: int | None, whole_platform: bool = False) -> services.AuditPage:
    return services.list_audit_events(
        tenant_id=tenant_id,
        whole_platform=whole_platform,
        limit=filters.limit,
        cursor=filters.cursor,
        actor_user_id=filters.actor,
        action=filters.action,
        since=filters.since,
        until=filters.until,
    )


@router.get("", response=AuditPageOut, auth=manager)
def list_audit_events(request: ApiRequest, filters: Query[AuditFilters]):
    """Who did what sensitive thing in this business, newest first: sign-ins and refused
    sign-ins, invitations, role changes, settings changes, refunds, Stripe connections, exports,
    deletions and what platform admins did to it."""
    return page(filters, tenant_id=request.auth.tenant_id)
