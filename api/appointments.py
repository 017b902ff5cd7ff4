"""Appointments: booking, rescheduling, status transitions, availability and calendar feeds."""

from datetime import date, datetime
from typing import Annotated

from django.http import HttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, member
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import (
    OMITTED,
    CalendarDayIn,
    InstantIn,
    PatchSchema,
    RowId,
    StorableSchema,
    StrictSchema,
    enum_of,
    example,
)
from shared_apps.errors import ValidationFailed
from shared_apps.tenants.services import tenant_host
from tenant_apps.appointments import availability, calendar, queries, services
from tenant_apps.appointments.models import Appointment, AppointmentSettings

EXAMPLE_APPOINTMENT = {
    "customer_id": 42,
    "staff_id": 3,
    "title": "Boiler service",
    "starts_at": "2026-03-02T09:00:00-05:00",
    "ends_at": "2026-03-02T10:30:00-05:00",
    "notes": "Bring the spare valve.",
}

router = Router(tags=["appointments"])


class AppointmentOut(Schema):
    model_config = example(
        id=7,
        **EXAMPLE_APPOINTMENT,
        status="SCHEDULED",
        cancel_reason="",
        version=1,
        created_at="2026-03-01T16:20:00Z",
        updated_at="2026-03-01T16:20:00Z",
    )

    id: int
    customer_id: int
    staff_id: int | None
    title: str
    starts_at: datetime
    ends_at: datetime
    status: Annotated[str, enum_of(Appointment.Status)]
    notes: str
    cancel_reason: str
    property_id: int | None = Field(
        alias="service_property_id", description="The customer's property where the visit is."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class AppointmentIn(StrictSchema):
    model_config = example(**EXAMPLE_APPOINTMENT)

    customer_id: int
    staff_id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    starts_at: InstantIn
    ends_at: InstantIn
    notes: str = Field(default="", max_length=10000)
    property_id: RowId | None = Field(default=None, description="One of the customer's properties: where the visit is.")


class AppointmentPatch(PatchSchema):
    """`staff_id: null` unassigns. Changing the customer needs a `property_id` of theirs (or
    `null`) when the appointment names a property."""

    # Required: every edit is optimistic, a stale version answers 409.
    version: int
    customer_id: int = OMITTED
    staff_id: int | None = None
    title: str = Field(default=OMITTED, min_length=1, max_length=200)
    starts_at: InstantIn = OMITTED
    ends_at: InstantIn = OMITTED
    notes: str = Field(default=OMITTED, max_length=10000)
    property_id: RowId | None = Field(default=None, description="`null`: no property.")


class TransitionIn(StrictSchema):
    status: Annotated[str, enum_of(Appointment.Status)]
    reason: str | None = Field(default=None, max_length=2000)
    version: int | None = None


class AppointmentFilters(StorableSchema):
    starts_from: InstantIn | None = Field(default=None, alias="from", description="Only those starting at or after.")
    ends_before: InstantIn | None = Field(default=None, alias="to", description="Only those ending at or before.")
    status: str | None = Field(default=None, description="One status or several, comma-separated.")
    customer_id: int | None = None
    staff_id: int | None = None


class CancelParams(StorableSchema):
    reason: str | None = Field(default=None, max_length=2000, description="Why it is cancelled (kept on it).")


def _statuses(value: str | None) -> list[str]:
    statuses = [part.strip().upper() for part in (value or "").split(",") if part.strip()]
    unknown = [status for status in statuses if status not in Appointment.Status.values]
    if unknown:
        raise ValidationFailed(
            "Invalid filter.",
            details=[{"field": "status", "message": f"One of {', '.join(Appointment.Status.values)}."}],
        )
    return statuses


class AvailabilityParams(StorableSchema):
    date: Annotated[CalendarDayIn, Field(description="The local day (the business's time zone) to look in.")]
    duration_minutes: int = Field(ge=1, le=24 * 60, description="How long the appointment would last.")
    staff_id: int | None = Field(default=None, description="Free slots of this staff member; else of anyone.")


class SlotOut(Schema):
    starts_at: datetime
    ends_at: datetime
    staff_ids: list[int]


class AvailabilityOut(Schema):
    date: date
    timezone: str
    duration_minutes: int
    step_minutes: int
    buffer_minutes: int
    staff_id: int | None
    slots: list[SlotOut]


@router.get("/availability", response=AvailabilityOut, auth=member)
def get_availability(request: ApiRequest, params: Query[AvailabilityParams]):
    """Free slots on a local date, as local times with their UTC offsets (see
    tenant_apps/appointments/availability.py for the rules, DST included)."""
    tenant = request.auth.tenant
    settings_now = AppointmentSettings.load()
    slots = availability.find_available_slots(
        tenant=tenant,
        day=params.date,
        duration_minutes=params.duration_minutes,
        staff_id=params.staff_id,
        now=timezone.now(),
        calendar=settings_now,
    )
    return AvailabilityOut(
        date=params.date,
        timezone=tenant.timezone,
        duration_minutes=params.duration_minutes,
        step_minutes=int(availability.STEP.total_seconds() // 60),
        buffer_minutes=settings_now.appointment_buffer_minutes,
        staff_id=params.staff_id,
        slots=[SlotOut(starts_at=s.starts_at, ends_at=s.ends_at, staff_ids=list(s.staff_ids)) for s in slots],
    )


class FeedIn(StrictSchema):
    # None (or absent): the whole business's calendar (owners and admins only).
    staff_id: int | None = None


class FeedOut(Schema):
    staff_id: int | None
    token: str
    url: str


class FeedParams(StorableSchema):
    token: str = Field(max_length=200, description="The feed's secret token, from POST /appointments/calendar-feeds.")


@router.post("/calendar-feeds", response={201: FeedOut}, auth=member)
def rotate_calendar_feed(request: ApiRequest, payload: FeedIn):
    """Creates the feed, or replaces its token (the old URL stops working). The token is shown
    only in this answer; a subscription URL for the business's own host comes with it."""
    actor = request.auth
    token = calendar.rotate_calendar_feed(
        tenant=actor.tenant, actor_user_id=actor.user_id, actor_role=actor.role, staff_id=payload.staff_id
    )
    port = request.get_port()
    host = tenant_host(slug=actor.tenant.slug) + ("" if port in ("80", "443") else f":{port}")
    path = request.path.removesuffix("/calendar-feeds") + "/calendar.ics"
    url = f"{request.scheme}://{host}{path}?token={token}"
    return 201, FeedOut(staff_id=payload.staff_id, token=token, url=url)


@router.get(
    "/calendar.ics",
    auth=None,
    response={200: None},
    openapi_extra={
        "responses": {
            200: {"description": "An iCalendar feed.", "content": {"text/calendar": {"schema": {"type": "string"}}}}
        }
    },
)
def calendar_feed(request: ApiRequest, params: Query[FeedParams]):
    """Public: the secret token is the credential (works on the business's host and the API host)."""
    body = calendar.render_calendar_feed(token=params.token, host_tenant=request.tenant)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Cache-Control"] = "private, max-age=300"
    return response


@router.get("", response=list[AppointmentOut], auth=member)
@paginate
def list_appointments(request: ApiRequest, filters: Query[AppointmentFilters]):
    """Appointments in a time range, by start time; filter by status, customer or staff member."""
    return queries.list_appointments(
        starts_from=filters.starts_from,
        ends_before=filters.ends_before,
        statuses=_statuses(filters.status),
        customer_id=filters.customer_id,
        staff_id=filters.staff_id,
    )


@router.post("", response={201: AppointmentOut}, auth=member)
@idempotent
def create_appointment(request: ApiRequest, payload: AppointmentIn):
    """Book an appointment; 409 names the appointment it would overlap for the same staff member
    (buffers included)."""
    appointment = services.create_appointment(tenant=request.auth.tenant, **payload.model_dump())
    return 201, appointment


@router.get("/{int:appointment_id}", response=AppointmentOut, auth=member)
def get_appointment(request: ApiRequest, appointment_id: RowId):
    """One appointment."""
    return queries.get_appointment(appointment_id=appointment_id)


@router.patch("/{int:appointment_id}", response=AppointmentOut, auth=member)
def update_appointment(request: ApiRequest, appointment_id: RowId, payload: AppointmentPatch):
    """Move or edit an appointment; `version` must be the one you read (409 when stale or on a
    clash)."""
    return services.update_appointment(
        tenant=request.auth.tenant,
        appointment_id=appointment_id,
        version=payload.version,
        changes=payload.changes(exclude={"version"}),
    )


@router.delete("/{int:appointment_id}", response=AppointmentOut, auth=member)
def cancel_appointment(request: ApiRequest, appointment_id: RowId, params: Query[CancelParams]):
    """Cancels (never deletes); `?reason=` is optional here, default "Cancelled via API"."""
    return services.cancel_appointment(appointment_id=appointment_id, reason=params.reason)


@router.post("/{int:appointment_id}/transition", response=AppointmentOut, auth=member)
def transition_appointment(request: ApiRequest, appointment_id: RowId, payload: TransitionIn):
    """Change an appointment's status: SCHEDULED -> CONFIRMED -> IN_PROGRESS -> COMPLETED /
    NO_SHOW, any active -> CANCELLED; an illegal move answers 409 with the allowed ones."""
    return services.transition_appointment(
        appointment_id=appointment_id, status=payload.status.upper(), reason=payload.reason, version=payload.version
    )
