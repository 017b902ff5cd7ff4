"""Feature settings leave the Tenant row for their apps' tables in each tenant schema. The
public schema migrates before the tenant schemas, so the values are kept here first, one JSON
row per tenant schema, for the apps' data migrations to copy (see docs/architecture.md)."""

from django.db import migrations

CARRY_OVER = """
CREATE TABLE tenants_settings_carryover (schema_name varchar(63) PRIMARY KEY, settings jsonb NOT NULL);
INSERT INTO tenants_settings_carryover (schema_name, settings)
SELECT schema_name, to_jsonb(tenant) FROM tenants_tenant AS tenant;
"""


class Migration(migrations.Migration):
    dependencies = [("tenants", "0011_branding")]

    operations = [migrations.RunSQL(CARRY_OVER, reverse_sql="DROP TABLE tenants_settings_carryover;")]
