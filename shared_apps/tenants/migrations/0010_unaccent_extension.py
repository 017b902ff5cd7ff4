"""unaccent, for accent-insensitive search: installed once in the public schema (on every
tenant's search_path), where a tenant schema restored into another database finds it too."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0009_business_contact_details")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;", reverse_sql=migrations.RunSQL.noop
        )
    ]
