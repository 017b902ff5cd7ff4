"""Staff time off and the business's closed days (time nobody can book)."""

from datetime import date, datetime

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, CalendarDayIn, InstantIn, PatchSchema, RowId, StorableSchema, StrictSchema, example
from tenant_apps.appointments import queries, time_off

time_off_router = Router(tags=["time off"])
closed_days_router = Router(tags=["time off"])

EXAMPLE_TIME_OFF = {
    "staff_id": 3,
    "starts_at": "2026-07-06T00:00:00-04:00",
    "ends_at": "2026-07-11T00:00:00-04:00",
    "reason": "Holiday",
}
EXAMPLE_CLOSED_DAY = {"starts_on": "2026-12-24", "ends_on": "2026-12-26", "reason": "Christmas"}


class TimeOffOut(Schema):
    model_config = example(id=5, **EXAMPLE_TIME_OFF, version=1, created_at="2026-06-01T09:00:00Z")

    id: int
    staff_id: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    version: int
    created_at: datetime
    updated_at: datetime


class TimeOffIn(StrictSchema):
    model_config = example(**EXAMPLE_TIME_OFF)

    # Default: the caller. Staff may only name themselves.
    staff_id: int | None = None
    starts_at: InstantIn
    ends_at: InstantIn
    reason: str = Field(default="", max_length=200)


class TimeOffPatch(PatchSchema):
    version: int
    starts_at: InstantIn = OMITTED
    ends_at: InstantIn = OMITTED
    reason: str = Field(default=OMITTED, max_length=200)


class TimeOffFilters(StorableSchema):
    staff_id: int | None = None
    starts_from: InstantIn | None = Field(default=None, alias="from", description="Only periods ending after.")
    ends_before: InstantIn | None = Field(default=None, alias="to", description="Only periods starting before.")


@time_off_router.get("", response=list[TimeOffOut], auth=member)
@paginate
def list_time_off(request: ApiRequest, filters: Query[TimeOffFilters]):
    """Time off in time order (staff see only their own)."""
    actor = request.auth
    own = time_off.own_staff_id(actor_user_id=actor.user_id, actor_role=actor.role)
    return queries.list_time_off(
        staff_id=own if own is not None else filters.staff_id,
        starts_from=filters.starts_from,
        ends_before=filters.ends_before,
    )


@time_off_router.post("", response={201: TimeOffOut}, auth=member)
@idempotent
def create_time_off(request: ApiRequest, payload: TimeOffIn):
    """Add time off (staff for themselves, owners and admins for anyone); 409 lists the active
    appointments in the way."""
    actor = request.auth
    row = time_off.create_time_off(
        tenant=actor.tenant, actor_user_id=actor.user_id, actor_role=actor.role, **payload.model_dump()
    )
    return 201, row


@time_off_router.get("/{int:time_off_id}", response=TimeOffOut, auth=member)
def get_time_off(request: ApiRequest, time_off_id: RowId):
    """One time off (staff: only their own)."""
    actor = request.auth
    own = time_off.own_staff_id(actor_user_id=actor.user_id, actor_role=actor.role)
    return queries.get_time_off(time_off_id=time_off_id, staff_id=own)


@time_off_router.patch("/{int:time_off_id}", response=TimeOffOut, auth=member)
def update_time_off(request: ApiRequest, time_off_id: RowId, payload: TimeOffPatch):
    """Change the period or reason; `version` must be the one you read."""
    actor = request.auth
    return time_off.update_time_off(
        tenant=actor.tenant,
        actor_user_id=actor.user_id,
        actor_role=actor.role,
        time_off_id=time_off_id,
        version=payload.version,
        changes=payload.changes(exclude={"version"}),
    )


@time_off_router.delete("/{int:time_off_id}", response={204: None}, auth=member)
def delete_time_off(request: ApiRequest, time_off_id: RowId):
    """Remove time off; the time becomes bookable again."""
    actor = request.auth
    time_off.delete_time_off(actor_user_id=actor.user_id, actor_role=actor.role, time_off_id=time_off_id)
    return 204, None


class ClosedDayOut(Schema):
    model_config = example(
        id=2,
        **EXAMPLE_CLOSED_DAY,
        starts_at="2026-12-24T05:00:00Z",
        ends_at="2026-12-27T05:00:00Z",
        version=1,
        created_at="2026-11-01T09:00:00Z",
    )

    id: int
    starts_on: date
    ends_on: date
    starts_at: datetime
    ends_at: datetime
    reason: str
    version: int
    created_at: datetime
    updated_at: datetime


class ClosedDayIn(StrictSchema):
    model_config = example(**EXAMPLE_CLOSED_DAY)

    starts_on: CalendarDayIn
    # Default: the same day.
    ends_on: CalendarDayIn | None = None
    reason: str = Field(default="", max_length=200)


class ClosedDayPatch(PatchSchema):
    version: int
    starts_on: CalendarDayIn = OMITTED
    ends_on: CalendarDayIn = OMITTED
    reason: str = Field(default=OMITTED, max_length=200)


class ClosedDayFilters(StorableSchema):
    starts_from: CalendarDayIn | None = Field(default=None, alias="from", description="Closures ending on or after.")
    ends_before: CalendarDayIn | None = Field(default=None, alias="to", description="Closures starting on or before.")


@closed_days_router.get("", response=list[ClosedDayOut], auth=member)
@paginate
def list_closed_days(request: ApiRequest, filters: Query[ClosedDayFilters]):
    """The business's closed days (local dates), in date order."""
    return queries.list_closed_days(starts_from=filters.starts_from, ends_before=filters.ends_before)


@closed_days_router.post("", response={201: ClosedDayOut}, auth=manager)
@idempotent
def create_closed_day(request: ApiRequest, payload: ClosedDayIn):
    """Close the business on local days (owners and admins); 409 lists the active appointments
    in the way."""
    actor = request.auth
    return 201, time_off.create_closed_day(tenant=actor.tenant, actor_user_id=actor.user_id, **payload.model_dump())


@closed_days_router.get("/{int:closed_day_id}", response=ClosedDayOut, auth=member)
def get_closed_day(request: ApiRequest, closed_day_id: RowId):
    """One closure."""
    return queries.get_closed_day(closed_day_id=closed_day_id)


@closed_days_router.patch("/{int:closed_day_id}", response=ClosedDayOut, auth=manager)
def update_closed_day(request: ApiRequest, closed_day_id: RowId, payload: ClosedDayPatch):
    """Change the days or reason (owners and admins); `version` must be the one you read."""
    return time_off.update_closed_day(
        tenant=request.auth.tenant,
        closed_day_id=closed_day_id,
        version=payload.version,
        changes=payload.changes(exclude={"version"}),
    )


@closed_days_router.delete("/{int:closed_day_id}", response={204: None}, auth=manager)
def delete_closed_day(request: ApiRequest, closed_day_id: RowId):
    """Reopen those days (owners and admins)."""
    time_off.delete_closed_day(closed_day_id=closed_day_id)
    return 204, None
