"""The services the receptionist offered (the business's `voice_services` setting, in the
public schema) become services of its price book: one list, with their durations, and a price
of 0 until the business sets one. A name the price book already has is kept as it is. SQL, so
pooled schemas are still built from captured DDL (they belong to no business yet: nothing to
copy)."""

from django.db import migrations

FORWARD = """
INSERT INTO pricebook_pricebookitem
    (kind, name, description, unit_price, unit, tax_rate, taxable, active, duration_minutes, version,
     created_at, updated_at)
SELECT 'service', btrim(s.name), '', 0, '', 0, true, true, s.duration_minutes, 1, now(), now()
FROM tenants_tenant t
CROSS JOIN LATERAL jsonb_to_recordset(t.voice_services) AS s(name text, duration_minutes integer)
WHERE t.schema_name = current_schema() AND btrim(coalesce(s.name, '')) <> ''
  AND s.duration_minutes BETWEEN 5 AND 1440
ON CONFLICT DO NOTHING;
"""


class Migration(migrations.Migration):
    dependencies = [("pricebook", "0001_price_book"), ("tenants", "0006_vapi_settings")]

    # Backwards there is nothing to undo: the setting was never changed.
    operations = [migrations.RunSQL(FORWARD, migrations.RunSQL.noop)]
