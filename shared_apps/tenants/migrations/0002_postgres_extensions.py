"""Extensions every tenant schema relies on, installed once in the public schema (which is on
every tenant's search_path): btree_gist for the no-double-booking exclusion constraint,
pg_trgm for fuzzy customer search."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("tenants", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public;"
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;",
            reverse_sql=migrations.RunSQL.noop,
        )
    ]
