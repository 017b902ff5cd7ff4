"""Schema bases and types shared by every router. What PostgreSQL cannot store is refused here,
as a 400 naming the field, instead of failing in the database as a 500."""

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from ninja import Schema
from ninja.conf import settings as ninja_settings
from ninja.pagination import LimitOffsetPagination
from pydantic import AfterValidator, AwareDatetime, ConfigDict, Field, WithJsonSchema, field_validator
from pydantic import BaseModel as PydanticModel

from shared_apps.tenants.localtime import CALENDAR_SPAN_MESSAGE, within_calendar


def enum_of(choices: Iterable[str]) -> WithJsonSchema:
    """The OpenAPI of a string field whose values are a closed set (a model's TextChoices, a
    tuple), written inline so that generated clients get one enum per field and two sets that
    share a class name (`Status`) never overwrite each other. Use as
    `status: Annotated[str, enum_of(Appointment.Status)]`; what is accepted stays the
    service's rule."""
    return WithJsonSchema({"type": "string", "enum": [str(choice) for choice in choices]})


def example(**fields: Any) -> ConfigDict:
    """A schema's `model_config` carrying one example for the OpenAPI (merged with its bases'
    configuration by pydantic)."""
    return ConfigDict(json_schema_extra={"examples": [fields]})


# PostgreSQL bigint, the widest integer column (ids, amounts, versions).
BIGINT_MIN = -(2**63)
BIGINT_MAX = 2**63 - 1
# PostgreSQL timestamptz accepts UTC offsets up to 15:59.
MAX_UTC_OFFSET = timedelta(hours=15, minutes=59)
# Deep enough for any page a client really reads; beyond, OFFSET only costs the database.
MAX_OFFSET = 1_000_000


def refuse_unstorable(value: Any) -> Any:
    """Strings with NUL characters (PostgreSQL text cannot hold them) and integers outside
    bigint, also inside lists and dicts; nested schemas check their own fields."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("Must not contain NUL characters.")
    if isinstance(value, int) and not isinstance(value, bool) and not BIGINT_MIN <= value <= BIGINT_MAX:
        raise ValueError(f"Must be between {BIGINT_MIN} and {BIGINT_MAX}.")
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_unstorable(key)
            refuse_unstorable(item)
    elif isinstance(value, list | tuple | set) and not isinstance(value, PydanticModel):
        for item in value:
            refuse_unstorable(item)
    return value


class StorableSchema(Schema):
    """Inputs (bodies and query parameter groups) whose every field PostgreSQL can store."""

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        return refuse_unstorable(value)


class StrictSchema(StorableSchema):
    """Request bodies refuse unknown fields instead of silently dropping them."""

    model_config = ConfigDict(extra="forbid")


def _without_null_defaults(schema: dict[str, Any]) -> None:
    """The `None` defaults of a PATCH body mean "unchanged", not a value to send: keep them out
    of the OpenAPI so clients do not read them as nullable."""
    for field in schema.get("properties", {}).values():
        if "default" in field and field["default"] is None:
            del field["default"]


# The default of a PATCH field that may be omitted: None, typed Any so that the field keeps its
# real type for mypy (`name: str = OMITTED`) without admitting `null` in the schema.
OMITTED: Any = None


class PatchSchema(StrictSchema):
    """PATCH bodies: a field may be omitted, and then it does not change; `null` is accepted
    only where the field's type says so. Declare each field with its real type and
    `= OMITTED` (the default is never validated nor used: `changes()` drops unset fields), e.g.
    `name: str = Field(default=OMITTED, max_length=200)`, `staff_id: int | None = None`."""

    model_config = ConfigDict(json_schema_extra=_without_null_defaults)

    def changes(self, *, exclude: set[str] | None = None) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True, exclude=exclude)


# An id in the URL: a bigint, so one beyond it is a 400 rather than a lookup PostgreSQL cannot do.
RowId = Annotated[int, Field(ge=BIGINT_MIN, le=BIGINT_MAX)]


def _storable_instant(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        raise ValueError("The UTC offset must be between -15:59 and +15:59.")
    if not within_calendar(value):
        raise ValueError(CALENDAR_SPAN_MESSAGE)
    return value


def _calendar_day(value: date) -> date:
    if not within_calendar(value):
        raise ValueError(CALENDAR_SPAN_MESSAGE)
    return value


# Every date-time a client sends: with a UTC offset PostgreSQL accepts, inside the calendar's
# span (shared_apps/tenants/localtime.py), so no rule's arithmetic on it can overflow.
InstantIn = Annotated[AwareDatetime, AfterValidator(_storable_instant)]
# A local calendar date a client sends for the calendar's rules (availability).
CalendarDayIn = Annotated[date, AfterValidator(_calendar_day)]


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """Ninja's limit/offset pagination with an upper bound on `offset` (a huge one is a 400,
    not a database error)."""

    class Input(Schema):
        limit: int = Field(
            default=ninja_settings.PAGINATION_PER_PAGE,
            ge=1,
            le=ninja_settings.PAGINATION_MAX_LIMIT,
            description="How many items to answer at most.",
        )
        offset: int = Field(default=0, ge=0, le=MAX_OFFSET, description="How many items to skip.")
