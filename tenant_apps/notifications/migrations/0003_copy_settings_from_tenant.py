"""Copy the business's notifications settings out of its Tenant row, as kept by tenants' migration
0012_settings_carryover. Plain SQL, so new schemas are still built from the captured DDL
(provisioning.py), where it finds no row and copies nothing: the settings are the defaults."""

from django.db import migrations

COPY = """
INSERT INTO notifications_notificationsettings (id, sms_booking_confirmation, sms_reminders, sms_reminder_hours, sms_quote_sent, sms_invoice_sent, payment_reminder_days)
SELECT 1,
       (settings->>'sms_booking_confirmation')::boolean,
       (settings->>'sms_reminders')::boolean,
       ARRAY(SELECT jsonb_array_elements_text(settings->'sms_reminder_hours')::smallint),
       (settings->>'sms_quote_sent')::boolean,
       (settings->>'sms_invoice_sent')::boolean,
       ARRAY(SELECT jsonb_array_elements_text(settings->'payment_reminder_days')::smallint)
FROM tenants_settings_carryover
WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("notifications", "0002_notifications_settings"), ("tenants", "0012_settings_carryover")]

    operations = [migrations.RunSQL(COPY, reverse_sql="DELETE FROM notifications_notificationsettings;")]
