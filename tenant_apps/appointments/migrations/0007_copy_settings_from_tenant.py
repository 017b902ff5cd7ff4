"""Copy the business's appointments settings out of its Tenant row, as kept by tenants' migration
0012_settings_carryover. Plain SQL, so new schemas are still built from the captured DDL
(provisioning.py), where it finds no row and copies nothing: the settings are the defaults."""

from django.db import migrations

COPY = """
INSERT INTO appointments_appointmentsettings (id, business_hours, appointment_buffer_minutes, max_appointment_minutes)
SELECT 1,
       settings->'business_hours',
       (settings->>'appointment_buffer_minutes')::integer,
       (settings->>'max_appointment_minutes')::integer
FROM tenants_settings_carryover
WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("appointments", "0006_appointments_settings"), ("tenants", "0012_settings_carryover")]

    operations = [migrations.RunSQL(COPY, reverse_sql="DELETE FROM appointments_appointmentsettings;")]
