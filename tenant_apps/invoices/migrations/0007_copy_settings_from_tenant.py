"""Copy the business's invoices settings out of its Tenant row, as kept by tenants' migration
0012_settings_carryover. Plain SQL, so new schemas are still built from the captured DDL
(provisioning.py), where it finds no row and copies nothing: the settings are the defaults."""

from django.db import migrations

COPY = """
INSERT INTO invoices_invoicesettings (id, payment_terms_days, invoice_prefix)
SELECT 1,
       (settings->>'payment_terms_days')::integer,
       settings->>'invoice_prefix'
FROM tenants_settings_carryover
WHERE schema_name = current_schema();
"""


class Migration(migrations.Migration):
    dependencies = [("invoices", "0006_invoices_settings"), ("tenants", "0012_settings_carryover")]

    operations = [migrations.RunSQL(COPY, reverse_sql="DELETE FROM invoices_invoicesettings;")]
