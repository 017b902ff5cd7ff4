"""Recurring visits: appointment series with an RFC 5545 rule, and their occurrences."""

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

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
from tenant_apps.appointments import queries, series
from tenant_apps.appointments.models import AppointmentSeries, SeriesOccurrence

router = Router(tags=["recurring visits"])

EXAMPLE_SERIES = {
    "customer_id": 42,
    "staff_id": 3,
    "title": "Monthly cleaning",
    "starts_at": "2026-03-02T09:00:00-05:00",
    "duration_minutes": 90,
    "rrule": "FREQ=MONTHLY;BYDAY=1MO",
    "notes": "Key under the mat.",
}


class SeriesOut(Schema):
    model_config = example(
        id=4,
        **{key: value for key, value in EXAMPLE_SERIES.items() if key != "starts_at"},
        starts_on="2026-03-02",
        local_start="09:00:00",
        materialised_until="2026-05-31",
        status="ACTIVE",
        split_from_id=None,
        version=1,
        created_at="2026-03-01T16:20:00Z",
        updated_at="2026-03-01T16:20:00Z",
    )

    id: int
    customer_id: int
    property_id: int | None = Field(
        alias="service_property_id", description="The customer's property where the visits are."
    )
    staff_id: int | None
    title: str
    notes: str
    rrule: str
    starts_on: date
    local_start: time
    duration_minutes: int
    materialised_until: date | None
    status: Annotated[str, enum_of(AppointmentSeries.Status)]
    split_from_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class SeriesIn(StrictSchema):
    model_config = example(**EXAMPLE_SERIES)

    customer_id: int
    property_id: RowId | None = Field(
        default=None, description="One of the customer's properties: where the visits are."
    )
    staff_id: int | None = None
    title: str = Field(min_length=1, max_length=200)
    # The first visit; its wall-clock time in the business's zone is every visit's.
    starts_at: InstantIn
    duration_minutes: int = Field(ge=1, le=24 * 60)
    rrule: str = Field(min_length=1, max_length=500, description="An RFC 5545 RRULE, e.g. FREQ=WEEKLY;BYDAY=MO.")
    notes: str = Field(default="", max_length=10000)


class SeriesPatch(PatchSchema):
    """`scope` "all": every visit from today on; "following": the visits from `from_date` on,
    split into a new series (returned). A single visit is edited as an appointment."""

    version: int
    scope: Literal["all", "following"]
    from_date: CalendarDayIn | None = None
    title: str = Field(default=OMITTED, min_length=1, max_length=200)
    notes: str = Field(default=OMITTED, max_length=10000)
    staff_id: int | None = None
    property_id: RowId | None = Field(default=None, description="`null`: no property.")
    local_start: time = OMITTED
    duration_minutes: int = Field(default=OMITTED, ge=1, le=24 * 60)
    rrule: str = Field(default=OMITTED, min_length=1, max_length=500)


class SeriesFilters(StorableSchema):
    customer_id: int | None = None
    staff_id: int | None = None
    status: Annotated[str, enum_of(AppointmentSeries.Status)] | None = Field(
        default=None, description="ACTIVE, or ENDED (stopped, or split into a newer series)."
    )


class EndParams(StorableSchema):
    version: int = Field(description="The series' version you read (409 when stale).")


class OccurrenceOut(Schema):
    model_config = example(
        id=11,
        local_date="2026-04-06",
        status="CONFLICT",
        appointment_id=None,
        starts_at=None,
        ends_at=None,
        appointment_status=None,
        conflict={"code": "time_off", "message": "The staff member is off at that time.", "details": []},
    )

    id: int
    local_date: date
    status: Annotated[str, enum_of(SeriesOccurrence.Status)]
    appointment_id: int | None
    starts_at: datetime | None
    ends_at: datetime | None
    appointment_status: str | None
    # Why the visit could not be booked or moved: the refusal's code, message and details.
    conflict: dict[str, Any] | None

    @staticmethod
    def resolve_starts_at(row: SeriesOccurrence) -> datetime | None:
        return row.appointment.starts_at if row.appointment else None

    @staticmethod
    def resolve_ends_at(row: SeriesOccurrence) -> datetime | None:
        return row.appointment.ends_at if row.appointment else None

    @staticmethod
    def resolve_appointment_status(row: SeriesOccurrence) -> str | None:
        return row.appointment.status if row.appointment else None

    @staticmethod
    def resolve_conflict(row: SeriesOccurrence) -> dict[str, Any] | None:
        return row.conflict or None


class OccurrenceFilters(StorableSchema):
    status: Annotated[str, enum_of(SeriesOccurrence.Status)] | None = Field(
        default=None, description="BOOKED, or CONFLICT (could not be booked or moved: see `conflict`)."
    )


@router.get("", response=list[SeriesOut], auth=member)
@paginate
def list_series(request: ApiRequest, filters: Query[SeriesFilters]):
    """Recurring visits, oldest first."""
    return queries.list_series(customer_id=filters.customer_id, staff_id=filters.staff_id, status=filters.status)


@router.post("", response={201: SeriesOut}, auth=member)
@idempotent
def create_series(request: ApiRequest, payload: SeriesIn):
    """Set up recurring visits and book them up to the horizon; a visit that cannot be booked
    is an occurrence with status CONFLICT (see /occurrences)."""
    return 201, series.create_series(tenant=request.auth.tenant, **payload.model_dump())


@router.get("/{int:series_id}", response=SeriesOut, auth=member)
def get_series(request: ApiRequest, series_id: RowId):
    """One series."""
    return queries.get_series(series_id=series_id)


@router.patch("/{int:series_id}", response=SeriesOut, auth=member)
def update_series(request: ApiRequest, series_id: RowId, payload: SeriesPatch):
    """Change all upcoming visits, or this and the following ones (a new series, returned)."""
    return series.update_series(
        tenant=request.auth.tenant,
        series_id=series_id,
        version=payload.version,
        scope=payload.scope,
        from_date=payload.from_date,
        changes=payload.changes(exclude={"version", "scope", "from_date"}),
    )


@router.delete("/{int:series_id}", response=SeriesOut, auth=member)
def end_series(request: ApiRequest, series_id: RowId, params: Query[EndParams]):
    """Stop the series: upcoming visits are cancelled, past ones stay (`?version=` required)."""
    return series.end_series(series_id=series_id, version=params.version)


@router.get("/{int:series_id}/occurrences", response=list[OccurrenceOut], auth=member)
@paginate
def list_occurrences(request: ApiRequest, series_id: RowId, filters: Query[OccurrenceFilters]):
    """The series' visits by local day: BOOKED with their appointment, or CONFLICT with why."""
    return queries.list_occurrences(series_id=series_id, status=filters.status)
