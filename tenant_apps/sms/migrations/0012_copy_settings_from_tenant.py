"""Copy the business's sms settings out of its Tenant row, as kept by tenants' migration
0012_settings_carryover. Plain SQL, so new schemas are still built from the captured DDL
(provisioning.py), where it finds no row and copies nothing: the settings are the defaults."""

from django.db import migrations

COPY = """
INSERT INTO sms_smssettings (id, sms_sender, quiet_hours_start, quiet_hours_end)
SELECT 1,
       settings->>'sms_sender',
       (settings->>'quiet_hours_start')::time,
       (settings->>'quiet_hours_end')::time
FROM tenants_settings_carryover
WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("sms", "0011_sms_settings"), ("tenants", "0012_settings_carryover")]

    operations = [migrations.RunSQL(COPY, reverse_sql="DELETE FROM sms_smssettings;")]
