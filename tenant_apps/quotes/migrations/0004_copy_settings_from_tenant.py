"""Copy the business's quotes settings out of its Tenant row, as kept by tenants' migration
0012_settings_carryover. Plain SQL, so new schemas are still built from the captured DDL
(provisioning.py), where it finds no row and copies nothing: the settings are the defaults."""

from django.db import migrations

COPY = """
INSERT INTO quotes_quotesettings (id, quote_validity_days, quote_prefix)
SELECT 1,
       (settings->>'quote_validity_days')::integer,
       settings->>'quote_prefix'
FROM tenants_settings_carryover
WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("quotes", "0003_quotes_settings"), ("tenants", "0012_settings_carryover")]

    operations = [migrations.RunSQL(COPY, reverse_sql="DELETE FROM quotes_quotesettings;")]
