"""The receptionist's tools, answered synchronously in Vapi's `{results: [...]}` shape.

Each tool call is claimed under its `toolCall.id` (ToolCallResult, unique) in the transaction
that runs it, so a re-delivered or concurrent duplicate waits for the first and returns its
answer: nothing is booked twice. Bookings go through the appointments services with a staff
member (the first free one), so the exclusion constraint and the time-off guards protect
them exactly like staff bookings; a slot taken (or blocked by new time off) meanwhile
answers the next free slots, never an error the caller hears as silence. A caller only ever
sees, moves or cancels the appointments of the customer their own number belongs to."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from shared_apps.errors import DomainError
from shared_apps.tenants.localtime import require_within_calendar
from shared_apps.tenants.models import Tenant
from shared_apps.webhooks import vapi
from shared_apps.webhooks.vapi import ToolCall
from tenant_apps.appointments import queries as appointment_queries
from tenant_apps.appointments import services as appointments
from tenant_apps.appointments.availability import Slot, business_intervals, find_available_slots
from tenant_apps.appointments.first_free import book_with_first_free_staff
from tenant_apps.appointments.models import Appointment, AppointmentSettings
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers import services as customers
from tenant_apps.customers.models import Customer, Property
from tenant_apps.pricebook.models import PriceBookItem
from tenant_apps.pricebook.queries import bookable_services
from tenant_apps.voice.models import Call, ToolCallResult
from tenant_apps.voice.services import caller_number

# How many free slots an answer names, and how many days ahead "next free slots" looks.
SLOTS_OFFERED = 5
# How many of a caller's addresses find_customer names.
PLACES_OFFERED = 10
DAYS_AHEAD = 14
DEFAULT_DURATION_MINUTES = 60
CANCEL_REASON = "Cancelled by the caller on the phone"


class ToolProblem(Exception):
    """Something the assistant should tell the caller (bad date, unknown appointment...)."""


@dataclass(frozen=True)
class ToolContext:
    tenant: Tenant
    caller: str  # E.164 of the caller, "" for a web call
    call: Call | None
    now: datetime

    @cached_property
    def calendar(self) -> AppointmentSettings:
        """The calendar's settings, read once per message by the tools that need them."""
        return AppointmentSettings.load()


@dataclass(frozen=True)
class ToolAnswer:
    result: dict[str, Any]
    appointment_id: int | None = None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any, field: str) -> int:
    if isinstance(value, bool):
        raise ToolProblem(f"{field} must be a whole number.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ToolProblem(f"{field} must be a whole number.") from None


def _local_day(value: Any) -> date:
    try:
        day = date.fromisoformat(_text(value))
    except ValueError:
        raise ToolProblem("date must be YYYY-MM-DD.") from None
    require_within_calendar(day, field="date")
    return day


def _instant(value: Any, tenant: Tenant) -> datetime:
    """ISO 8601; without an offset it is the business's local time."""
    try:
        moment = datetime.fromisoformat(_text(value).replace("Z", "+00:00"))
    except ValueError:
        raise ToolProblem("starts_at must be an ISO 8601 time, such as 2026-03-03T14:00.") from None
    require_within_calendar(moment, field="starts_at")
    return moment if moment.tzinfo else moment.replace(tzinfo=tenant.zone)


def _spoken(moment: datetime, tenant: Tenant) -> str:
    local = moment.astimezone(tenant.zone)
    hour = local.strftime("%I:%M %p").lstrip("0")
    return f"{local:%A} {local.day} {local:%B} at {hour}"


def _slots_answer(slots: list[Slot], tenant: Tenant) -> dict[str, Any]:
    offered = slots[:SLOTS_OFFERED]
    return {
        "slots": [slot.starts_at.isoformat() for slot in offered],
        "spoken": [_spoken(slot.starts_at, tenant) for slot in offered],
    }


def _next_free_slots(ctx: ToolContext, *, after: datetime, duration_minutes: int) -> list[Slot]:
    """The first free slots from `after` on, looking up to DAYS_AHEAD local days ahead."""
    found: list[Slot] = []
    day = ctx.tenant.local_date(max(after, ctx.now))
    for _ in range(DAYS_AHEAD):
        found += find_available_slots(
            tenant=ctx.tenant,
            day=day,
            duration_minutes=duration_minutes,
            now=max(after, ctx.now),
            calendar=ctx.calendar,
        )
        if len(found) >= SLOTS_OFFERED:
            break
        day += timedelta(days=1)
    return found


def _taken_answer(ctx: ToolContext, *, starts_at: datetime, duration_minutes: int) -> ToolAnswer:
    slots = _next_free_slots(ctx, after=starts_at, duration_minutes=duration_minutes)
    spoken = ", ".join(_slots_answer(slots, ctx.tenant)["spoken"]) or "none in the next two weeks"
    return ToolAnswer(
        {
            "booked": False,
            "reason": "slot_taken",
            "message": f"Sorry, {_spoken(starts_at, ctx.tenant)} is not free. The next free times are: {spoken}.",
            **_slots_answer(slots, ctx.tenant),
        }
    )


def _within_hours(ctx: ToolContext, *, starts_at: datetime, duration_minutes: int) -> bool:
    ends_at = starts_at + timedelta(minutes=duration_minutes)
    intervals = business_intervals(
        day=ctx.tenant.local_date(starts_at), hours=ctx.calendar.business_hours, zone=ctx.tenant.zone
    )
    return starts_at >= ctx.now and any(opens <= starts_at and ends_at <= closes for opens, closes in intervals)


def _callers_customer(ctx: ToolContext) -> Customer | None:
    return customer_queries.find_customer_by_phone(phone=ctx.caller) if ctx.caller else None


def _book_with_first_free_staff(
    ctx: ToolContext, *, starts_at: datetime, duration_minutes: int, book: Callable[[int], Appointment]
) -> Appointment | None:
    return book_with_first_free_staff(
        tenant=ctx.tenant,
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        now=ctx.now,
        calendar=ctx.calendar,
        book=book,
    )


def _own_number(ctx: ToolContext, args: dict[str, Any]) -> str:
    """The caller's number, the only one a caller may name: a `phone` argument must be it."""
    asked = _text(args.get("phone")).strip()
    if asked:
        try:
            asked = customers.normalize_phone(phone=asked, region=ctx.tenant.country)
        except DomainError:
            asked = "not a number"
        if asked != ctx.caller:
            raise ToolProblem("I can only look up the number you are calling from.")
    return ctx.caller


def find_customer(ctx: ToolContext, args: dict[str, Any]) -> ToolAnswer:
    """The caller's own customer record (never another's: that would tell a stranger a
    customer's name and appointments), found by the number they call from."""
    phone = _own_number(ctx, args)
    if not phone:
        raise ToolProblem("This call has no number to look up; ask for the caller's name instead.")
    customer = customer_queries.find_customer_by_phone(phone=phone)
    if customer is None:
        return ToolAnswer({"found": False, "message": "No customer has this number yet."})
    upcoming = (
        appointment_queries.list_appointments(
            starts_from=ctx.now, statuses=Appointment.ACTIVE_STATUSES, customer_id=customer.pk
        )
        .only("id", "title", "starts_at")
        .first()
    )
    answer: dict[str, Any] = {"found": True, "customer_id": customer.pk, "name": customer.name}
    places = list(customer_queries.customer_properties(customer_id=customer.pk)[:PLACES_OFFERED])
    if places:
        answer["addresses"] = [
            {"property_id": place.pk, "address": place.one_line(), "default": place.is_default} for place in places
        ]
    if upcoming is not None:
        answer["next_appointment"] = {
            "appointment_id": upcoming.pk,
            "title": upcoming.title,
            "starts_at": upcoming.starts_at.astimezone(ctx.tenant.zone).isoformat(),
            "spoken": _spoken(upcoming.starts_at, ctx.tenant),
        }
    return ToolAnswer(answer)


def _find_or_create_customer(ctx: ToolContext, *, name: str, phone: str) -> Customer:
    number = customers.normalize_phone(phone=phone, region=ctx.tenant.country) if phone else ""
    existing = customer_queries.find_customer_by_phone(phone=number) if number else None
    if existing is not None:
        return existing
    return customers.create_customer(
        region=ctx.tenant.country, data={"name": name.strip() or f"Caller {number or 'unknown'}", "phone": number}
    )


def create_customer(ctx: ToolContext, args: dict[str, Any]) -> ToolAnswer:
    name = _text(args.get("name")).strip()
    if not name:
        raise ToolProblem("A name is needed.")
    customer = _find_or_create_customer(ctx, name=name[:200], phone=_own_number(ctx, args))
    return ToolAnswer({"customer_id": customer.pk, "name": customer.name})


def _service_and_duration(args: dict[str, Any]) -> tuple[PriceBookItem | None, int]:
    """The price book service the caller asked for, if `service` names one (whatever its
    case), and the visit's length: the service's, else `duration_minutes`, else an hour."""
    named = _text(args.get("service")).strip()
    service = bookable_services().filter(name__iexact=named).first() if named else None
    if service is not None and service.duration_minutes is not None:
        return service, service.duration_minutes
    return None, _int(args.get("duration_minutes", DEFAULT_DURATION_MINUTES), "duration_minutes")


def check_availability(ctx: ToolContext, args: dict[str, Any]) -> ToolAnswer:
    day = _local_day(args.get("date"))
    _, duration = _service_and_duration(args)
    slots = find_available_slots(
        tenant=ctx.tenant, day=day, duration_minutes=duration, now=ctx.now, calendar=ctx.calendar
    )
    answer = _slots_answer(slots, ctx.tenant)
    message = (
        f"Free times: {', '.join(answer['spoken'])}." if slots else f"Nothing is free on {day:%A} {day.day} {day:%B}."
    )
    return ToolAnswer({"date": day.isoformat(), "message": message, **answer})


def book_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolAnswer:
    starts_at = _instant(args.get("starts_at"), ctx.tenant)
    service, duration = _service_and_duration(args)
    if not 1 <= duration <= ctx.calendar.max_appointment_minutes:
        raise ToolProblem(f"duration_minutes must be between 1 and {ctx.calendar.max_appointment_minutes}.")
    customer = _find_or_create_customer(ctx, name=_text(args.get("name"))[:200], phone=ctx.caller)
    place = _visit_place(customer, args)
    title = (service.name if service is not None else _text(args.get("service")) or "Booked by phone")[:200]
    appointment = _book_with_first_free_staff(
        ctx,
        starts_at=starts_at,
        duration_minutes=duration,
        book=lambda staff_id: appointments.create_appointment(
            tenant=ctx.tenant,
            customer_id=customer.pk,
            title=title,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=duration),
            staff_id=staff_id,
            notes=_text(args.get("notes"))[:2000],
            property_id=place.pk if place is not None else None,
        ),
    )
    if appointment is None:
        return _taken_answer(ctx, starts_at=starts_at, duration_minutes=duration)
    answer = {
        "booked": True,
        "appointment_id": appointment.pk,
        "starts_at": appointment.starts_at.astimezone(ctx.tenant.zone).isoformat(),
        "message": f"Booked for {_spoken(appointment.starts_at, ctx.tenant)}.",
    }
    if place is not None:
        answer["address"] = place.one_line()
        answer["message"] = f"Booked for {_spoken(appointment.starts_at, ctx.tenant)} at {place.one_line()}."
    return ToolAnswer(answer, appointment_id=appointment.pk)


def _visit_place(customer: Customer, args: dict[str, Any]) -> Property | None:
    """Where the visit is: one of the caller's own addresses named by `property_id`, a new
    `address` they said (kept as a property of theirs, reused when they say it again), or
    else their default address, if they have one."""
    if args.get("property_id") not in (None, ""):
        property_id = _int(args["property_id"], "property_id")
        found = customer_queries.customer_properties(customer_id=customer.pk).filter(pk=property_id).first()
        if found is None:
            raise ToolProblem("That is not one of the caller's addresses; ask for the address instead.")
        return found
    said = _text(args.get("address")).strip()
    if said:
        known = customer_queries.customer_properties(customer_id=customer.pk).filter(lines__iexact=said).first()
        return known or customers.create_property(customer_id=customer.pk, data={"lines": said[:600]})
    return customer_queries.customer_properties(customer_id=customer.pk).filter(is_default=True).first()


def _callers_appointment(ctx: ToolContext, args: dict[str, Any]) -> Appointment:
    """The appointment named (only if it is the caller's), else the caller's next one."""
    customer = _callers_customer(ctx)
    if customer is None:
        raise ToolProblem("I could not find a customer with the number you are calling from.")
    upcoming = appointment_queries.list_appointments(statuses=Appointment.ACTIVE_STATUSES, customer_id=customer.pk)
    if args.get("appointment_id") not in (None, ""):
        appointment = upcoming.filter(pk=_int(args["appointment_id"], "appointment_id")).first()
    else:
        appointment = upcoming.filter(starts_at__gte=ctx.now).first()
    if appointment is None:
        raise ToolProblem("I could not find an upcoming appointment for you.")
    return appointment


def reschedule_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolAnswer:
    appointment = _callers_appointment(ctx, args)
    starts_at = _instant(args.get("starts_at"), ctx.tenant)
    duration = round((appointment.ends_at - appointment.starts_at).total_seconds() / 60)

    def move(staff_id: int) -> Appointment:
        return appointments.update_appointment(
            tenant=ctx.tenant,
            appointment_id=appointment.pk,
            version=appointment.version,
            changes={"starts_at": starts_at, "ends_at": starts_at + timedelta(minutes=duration), "staff_id": staff_id},
        )

    # Its own staff member first (availability counts the appointment being moved as busy),
    # but only inside opening hours and in the future, as any slot offered would be.
    moved = None
    if not _within_hours(ctx, starts_at=starts_at, duration_minutes=duration):
        return _taken_answer(ctx, starts_at=starts_at, duration_minutes=duration)
    if appointment.staff_id is not None:
        try:
            moved = move(appointment.staff_id)
        except (appointments.DoubleBooking, appointments.Unavailable):
            moved = None
    if moved is None:
        moved = _book_with_first_free_staff(ctx, starts_at=starts_at, duration_minutes=duration, book=move)
    if moved is None:
        return _taken_answer(ctx, starts_at=starts_at, duration_minutes=duration)
    return ToolAnswer(
        {
            "rescheduled": True,
            "appointment_id": moved.pk,
            "starts_at": moved.starts_at.astimezone(ctx.tenant.zone).isoformat(),
            "message": f"Moved to {_spoken(moved.starts_at, ctx.tenant)}.",
        },
        appointment_id=moved.pk,
    )


def cancel_appointment(ctx: ToolContext, args: dict[str, Any]) -> ToolAnswer:
    appointment = _callers_appointment(ctx, args)
    reason = _text(args.get("reason")).strip()[:500] or CANCEL_REASON
    cancelled = appointments.cancel_appointment(appointment_id=appointment.pk, reason=reason)
    return ToolAnswer(
        {
            "cancelled": True,
            "appointment_id": cancelled.pk,
            "message": f"The appointment on {_spoken(cancelled.starts_at, ctx.tenant)} is cancelled.",
        },
        appointment_id=cancelled.pk,
    )


TOOLS: dict[str, Callable[[ToolContext, dict[str, Any]], ToolAnswer]] = {
    "find_customer": find_customer,
    "create_customer": create_customer,
    "check_availability": check_availability,
    "book_appointment": book_appointment,
    "reschedule_appointment": reschedule_appointment,
    "cancel_appointment": cancel_appointment,
}


_CLAIM = f"""
    INSERT INTO {ToolCallResult._meta.db_table} (tool_call_id, call_id, name, arguments, result, created_at)
    VALUES (%s, %s, %s, %s, '', now())
    ON CONFLICT (tool_call_id) DO NOTHING
    RETURNING id
"""  # noqa: S608 - the table name is ours, every value is a parameter


# A failed tool's answer is stored as {"error": ...}; no tool answers that on success.
def _failure(message: str) -> ToolAnswer:
    return ToolAnswer({"error": message})


def _answer_item(tool_call: ToolCall, stored: str) -> dict[str, Any]:
    """Vapi's ToolCallResult for a stored answer: a failure in `error`, else the `result`."""
    try:
        parsed = json.loads(stored)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and set(parsed) == {"error"}:
        return vapi.tool_error(tool_call, error=str(parsed["error"]))
    return vapi.tool_result(tool_call, result=stored)


def _stored_answer(stored: ToolCallResult) -> dict[str, Any]:
    return _answer_item(ToolCall(id=stored.tool_call_id, name=stored.name, arguments={}), stored.result)


def _run_once(ctx: ToolContext, tool_call: ToolCall) -> dict[str, Any]:
    name, arguments = tool_call.name, tool_call.arguments
    with transaction.atomic():
        with connection.cursor() as cursor:
            # A concurrent duplicate blocks here until the first commits, then finds its row.
            cursor.execute(_CLAIM, [tool_call.id, ctx.call.pk if ctx.call else None, name[:64], json.dumps(arguments)])
            claimed = cursor.fetchone()
        if claimed is None:
            return _stored_answer(ToolCallResult.objects.get(tool_call_id=tool_call.id))
        tool = TOOLS.get(name)
        try:
            with transaction.atomic():
                if tool is None:
                    raise ToolProblem(f"There is no tool called {name!r}.")
                answer = tool(ctx, arguments)
        except ToolProblem as problem:
            answer = _failure(str(problem))
        except DomainError as error:
            details = "; ".join(str(detail.get("message", "")) for detail in error.details if detail.get("message"))
            answer = _failure(f"{error.message} {details}".strip())
        result = json.dumps(answer.result)
        ToolCallResult.objects.filter(pk=claimed[0]).update(result=result, appointment_id=answer.appointment_id)
    return _answer_item(tool_call, result)


TOOL_CALL_ID_LENGTH = 128  # ToolCallResult.tool_call_id


def _usable(tool_calls: list[ToolCall]) -> list[ToolCall]:
    """The calls that can be answered: Vapi matches an answer by its id, which we store in 128."""
    return [call for call in tool_calls if len(call.id) <= TOOL_CALL_ID_LENGTH]


def tool_call_ids(tool_calls: list[ToolCall]) -> list[str]:
    return [call.id for call in _usable(tool_calls)]


def stored_answers(*, tool_calls: list[ToolCall]) -> dict[str, dict[str, Any]]:
    """The committed answers of these tool calls, by id, in one query."""
    found = ToolCallResult.objects.filter(tool_call_id__in=tool_call_ids(tool_calls))
    return {result.tool_call_id: _stored_answer(result) for result in found}


def answer_tool_calls(
    *,
    tenant: Tenant,
    message: dict[str, Any],
    call: Call | None,
    tool_calls: list[ToolCall],
    stored: dict[str, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Vapi's `results` for the message's tool calls, each run once (see the module's doc);
    `call` is the call's row when it has one (record_call). `stored` answers (stored_answers)
    are given back as they are; the others go through the claim, which also finds an answer
    committed since."""
    stored = stored or {}
    try:
        caller = customers.normalize_phone(phone=caller_number(message), region=tenant.country)
    except DomainError:
        caller = ""
    ctx = ToolContext(tenant=tenant, caller=caller, call=call, now=timezone.now())
    return [
        stored[tool_call.id] if tool_call.id in stored else _run_once(ctx, tool_call)
        for tool_call in _usable(tool_calls)
    ]
