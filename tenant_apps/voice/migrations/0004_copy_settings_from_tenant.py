"""Copy the business's voice settings out of its Tenant row, as kept by tenants' migration
0012_settings_carryover. Plain SQL, so new schemas are still built from the captured DDL
(provisioning.py), where it finds no row and copies nothing: the settings are the defaults."""

from django.db import migrations

COPY = """
INSERT INTO voice_voicesettings (id, vapi_assistant_id, vapi_phone_number_id, voice_greeting, voice_record_calls)
SELECT 1,
       settings->>'vapi_assistant_id',
       settings->>'vapi_phone_number_id',
       settings->>'voice_greeting',
       (settings->>'voice_record_calls')::boolean
FROM tenants_settings_carryover
WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("voice", "0003_voice_settings"), ("tenants", "0012_settings_carryover")]

    operations = [migrations.RunSQL(COPY, reverse_sql="DELETE FROM voice_voicesettings;")]
