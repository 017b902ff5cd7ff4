"""Each customer's free-text address becomes its first (default) property, so existing
appointments and documents can name where the work is. The text stays on the customer as its
postal (billing) address. SQL, not Python, so that pooled schemas are still built from
captured DDL (shared_apps/tenants/provisioning.py)."""

from django.db import migrations

FORWARD = """
INSERT INTO customers_property
    (customer_id, label, lines, city, region, postal_code, country, access_notes, is_default, version,
     created_at, updated_at)
SELECT c.id, '', btrim(c.address), '', '', '', '', '', true, 1, c.created_at, now()
FROM customers_customer c
WHERE btrim(c.address) <> ''
  AND NOT EXISTS (SELECT 1 FROM customers_property p WHERE p.customer_id = c.id);
"""

# Undo the copy: the properties that are still exactly a customer's address and its only one.
BACKWARD = """
DELETE FROM customers_property p USING customers_customer c
WHERE p.customer_id = c.id AND p.lines = btrim(c.address) AND p.label = '' AND p.city = ''
  AND NOT EXISTS (SELECT 1 FROM customers_property o WHERE o.customer_id = c.id AND o.id <> p.id);
"""


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_properties")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
