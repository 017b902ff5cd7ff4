"""Appointment reminders by text, the tenant's `sms_reminder_hours` (24 h and 2 h) before.

Booking or rescheduling (its event, delivered to subscribers.py) writes one due outbox row
per reminder (none for a cancelled appointment or a time already past). When a row comes due the actor
re-reads the appointment: moved or no longer active -> nothing. Otherwise the reminder is
sent at most once under its send key (appointment, kind, appointment time), so a
rescheduled appointment gets new reminders while a doubled scheduler or a re-delivered
message sends nothing twice. Quiet hours defer it to their end (skipped if that is too
late); one due more than STALE_AFTER ago (downtime) is skipped and recorded."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from shared_apps.errors import NotFound
from shared_apps.outbox.services import enqueue_after_commit
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import queries
from tenant_apps.appointments.models import Appointment
from tenant_apps.notifications.models import NotificationSettings
from tenant_apps.sms.automatic import record_skipped_text, send_automatic_text
from tenant_apps.sms.models import AutomaticText
from tenant_apps.sms.quiet_hours import next_allowed_send_time

REMINDER_ACTOR = "send_appointment_reminder"
# A reminder that could not go out for longer than this (the system was down) is skipped.
STALE_AFTER = timedelta(minutes=30)


def reminder_kind(hours: int) -> str:
    return f"reminder_{hours}h"


def reminder_send_key(*, appointment_id: int, hours: int, starts_at: datetime) -> str:
    return f"appointment:{appointment_id}:{reminder_kind(hours)}:{starts_at.timestamp():.0f}"


def schedule_appointment_reminders(*, tenant: Tenant, appointment: Appointment, now: datetime | None = None) -> int:
    """Write the appointment's reminders as due outbox rows in the caller's transaction;
    returns how many. None when reminders are off, the appointment is not active, or the
    reminder time has passed."""
    if not appointment.is_active:
        return 0
    reminders = NotificationSettings.load()
    if not reminders.sms_reminders:
        return 0
    now = now or timezone.now()
    written = 0
    for hours in reminders.sms_reminder_hours:
        remind_at = appointment.starts_at - timedelta(hours=hours)
        if remind_at <= now:
            continue
        _enqueue_reminder(tenant=tenant, appointment=appointment, hours=hours, due_at=remind_at)
        written += 1
    return written


def _enqueue_reminder(*, tenant: Tenant, appointment: Appointment, hours: int, due_at: datetime) -> None:
    send_key = reminder_send_key(appointment_id=appointment.pk, hours=hours, starts_at=appointment.starts_at)
    enqueue_after_commit(
        actor_name=REMINDER_ACTOR,
        schema_name=tenant.schema_name,
        run_at=due_at,
        dedupe_key=f"{tenant.schema_name}:{send_key}:{due_at.timestamp():.0f}",
        tenant_id=tenant.pk,
        appointment_id=appointment.pk,
        hours=hours,
        starts_at=appointment.starts_at.isoformat(),
        due_at=due_at.isoformat(),
    )


def send_appointment_reminder(
    *, tenant_id: int, appointment_id: int, hours: int, starts_at: str, due_at: str, now: datetime | None = None
) -> AutomaticText | None:
    """Run one due reminder (see the module's rules) in the tenant's schema. Returns the
    recorded decision, or None when nothing was sent or recorded (moved, cancelled, already
    done, deferred, or the business is not active)."""
    tenant = Tenant.objects.active().filter(pk=tenant_id).first()
    if tenant is None:
        return None
    now = now or timezone.now()
    booked_start, due = datetime.fromisoformat(starts_at), datetime.fromisoformat(due_at)
    send_key = reminder_send_key(appointment_id=appointment_id, hours=hours, starts_at=booked_start)
    kind = reminder_kind(hours)
    with transaction.atomic():
        try:
            appointment = queries.get_appointment_for_update(appointment_id=appointment_id)
        except NotFound:
            return None
        if (
            not appointment.is_active
            or appointment.starts_at != booked_start
            or not NotificationSettings.load().sms_reminders
        ):
            return None
        customer = appointment.customer
        if now - due > STALE_AFTER or now >= appointment.starts_at:
            return record_skipped_text(
                send_key=send_key, kind=kind, reason=AutomaticText.SkipReason.STALE, customer=customer
            )
        allowed = next_allowed_send_time(tenant=tenant, at=now)
        if allowed > now:
            if allowed >= appointment.starts_at:
                return record_skipped_text(
                    send_key=send_key, kind=kind, reason=AutomaticText.SkipReason.QUIET_HOURS, customer=customer
                )
            _enqueue_reminder(tenant=tenant, appointment=appointment, hours=hours, due_at=allowed)
            return None
        return send_automatic_text(
            tenant=tenant, send_key=send_key, kind=kind, customer=customer, body=reminder_body(tenant, appointment)
        )


def reminder_body(tenant: Tenant, appointment: Appointment) -> str:
    local = appointment.starts_at.astimezone(tenant.zone)
    when = f"{local:%A %d %B} at {local:%H:%M}"
    return f"Reminder from {tenant.name}: {appointment.title}, {when}. Reply STOP to opt out."
