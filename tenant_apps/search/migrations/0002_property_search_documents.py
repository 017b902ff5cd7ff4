"""Customers are found by the addresses of their properties too: a stored `search_document`
on `customers_property` (weight C, like a customer's own address), with a GIN index."""

from importlib import import_module

from django.db import migrations

# The first search migration's expression builder (a module name starting with a digit is
# imported by name).
document = import_module("tenant_apps.search.migrations.0001_search_documents").document
COLUMN = document(("C", "label || ' ' || lines || ' ' || city || ' ' || region || ' ' || postal_code"))


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_documents"), ("customers", "0004_addresses_become_properties")]

    operations = [
        migrations.RunSQL(
            f"ALTER TABLE customers_property ADD COLUMN search_document tsvector GENERATED ALWAYS AS ({COLUMN}) STORED;"
            "CREATE INDEX customers_property_search ON customers_property USING gin (search_document);",
            reverse_sql="ALTER TABLE customers_property DROP COLUMN search_document;",
        )
    ]
