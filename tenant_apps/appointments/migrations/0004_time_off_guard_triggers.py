"""Time off and closed days hold time the way the double-booking constraint does: in
PostgreSQL, whoever writes. An exclusion constraint cannot span two tables, so triggers check
the other table after taking an advisory lock that serialises the two kinds of writes:

- an active appointment (insert, or a change of its times, staff member or status) takes the
  business's closed-days lock and its staff member's lock in SHARED mode, then refuses when a
  closed day or a time off of that staff member overlaps it;
- a time off takes its staff member's lock in EXCLUSIVE mode, a closed day the business's
  closed-days lock, then refuses when an active appointment overlaps it.

Under READ COMMITTED each statement of the trigger reads what committed before it, so the
second of two racing writers (it waits for the first's lock) sees the first's row and is
refused. Bookings only share the locks, so they never wait for each other. Lock keys include
the schema, so businesses never wait for each other either. The refusals are exclusion
violations (SQLSTATE 23P01) naming a constraint, as the double-booking constraint's are."""

from django.db import migrations

GUARD_KEY = """
CREATE FUNCTION appointment_guard_key(kind text, staff bigint) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN hashtextextended(current_schema() || ':' || kind || ':' || coalesce(staff::text, ''), 0)
"""

APPOINTMENT_GUARD = """
CREATE FUNCTION appointment_respects_time_off() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    clash bigint;
BEGIN
    IF NEW.status NOT IN ('SCHEDULED', 'CONFIRMED', 'IN_PROGRESS') THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(appointment_guard_key('closed', NULL));
    SELECT c.id INTO clash FROM appointments_closedday c
        WHERE tstzrange(c.starts_at, c.ends_at) && tstzrange(NEW.starts_at, NEW.ends_at)
        ORDER BY c.starts_at, c.id LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'The business is closed then (closed day %).', clash
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointment_not_on_closed_day';
    END IF;
    IF NEW.staff_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(appointment_guard_key('staff', NEW.staff_id));
        SELECT t.id INTO clash FROM appointments_timeoff t
            WHERE t.staff_id = NEW.staff_id
              AND tstzrange(t.starts_at, t.ends_at) && tstzrange(NEW.starts_at, NEW.ends_at)
            ORDER BY t.starts_at, t.id LIMIT 1;
        IF clash IS NOT NULL THEN
            RAISE EXCEPTION 'The staff member is off then (time off %).', clash
                USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'appointment_not_in_time_off';
        END IF;
    END IF;
    RETURN NEW;
END $$
"""

TIME_OFF_GUARD = """
CREATE FUNCTION time_off_respects_appointments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(appointment_guard_key('staff', NEW.staff_id));
    IF EXISTS (
        SELECT 1 FROM appointments_appointment a
        WHERE a.staff_id = NEW.staff_id AND a.status IN ('SCHEDULED', 'CONFIRMED', 'IN_PROGRESS')
          AND tstzrange(a.starts_at, a.ends_at) && tstzrange(NEW.starts_at, NEW.ends_at)
    ) THEN
        RAISE EXCEPTION 'The staff member has appointments then.'
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'time_off_free_of_appointments';
    END IF;
    RETURN NEW;
END $$
"""

CLOSED_DAY_GUARD = """
CREATE FUNCTION closed_day_respects_appointments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(appointment_guard_key('closed', NULL));
    IF EXISTS (
        SELECT 1 FROM appointments_appointment a
        WHERE a.status IN ('SCHEDULED', 'CONFIRMED', 'IN_PROGRESS')
          AND tstzrange(a.starts_at, a.ends_at) && tstzrange(NEW.starts_at, NEW.ends_at)
    ) THEN
        RAISE EXCEPTION 'The business has appointments then.'
            USING ERRCODE = 'exclusion_violation', CONSTRAINT = 'closed_day_free_of_appointments';
    END IF;
    RETURN NEW;
END $$
"""

TRIGGERS = [
    """CREATE TRIGGER appointment_respects_time_off
    BEFORE INSERT OR UPDATE OF starts_at, ends_at, staff_id, status ON appointments_appointment
    FOR EACH ROW EXECUTE FUNCTION appointment_respects_time_off()""",
    """CREATE TRIGGER time_off_respects_appointments
    BEFORE INSERT OR UPDATE OF starts_at, ends_at, staff_id ON appointments_timeoff
    FOR EACH ROW EXECUTE FUNCTION time_off_respects_appointments()""",
    """CREATE TRIGGER closed_day_respects_appointments
    BEFORE INSERT OR UPDATE OF starts_at, ends_at ON appointments_closedday
    FOR EACH ROW EXECUTE FUNCTION closed_day_respects_appointments()""",
]

DROP = """
DROP TRIGGER closed_day_respects_appointments ON appointments_closedday;
DROP TRIGGER time_off_respects_appointments ON appointments_timeoff;
DROP TRIGGER appointment_respects_time_off ON appointments_appointment;
DROP FUNCTION closed_day_respects_appointments();
DROP FUNCTION time_off_respects_appointments();
DROP FUNCTION appointment_respects_time_off();
DROP FUNCTION appointment_guard_key(text, bigint)
""".strip().split(";\n")


class Migration(migrations.Migration):
    dependencies = [("appointments", "0003_time_off_closed_days_series")]

    operations = [
        migrations.RunSQL([GUARD_KEY, APPOINTMENT_GUARD, TIME_OFF_GUARD, CLOSED_DAY_GUARD, *TRIGGERS], reverse_sql=DROP)
    ]
