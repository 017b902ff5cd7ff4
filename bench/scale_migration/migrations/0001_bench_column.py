"""The one new tenant migration bench/scale.py deploys over every tenant schema: a nullable
column on a table the old code keeps reading while it runs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_search_indexes")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE customers_customer ADD COLUMN bench_note text NULL",
            "ALTER TABLE customers_customer DROP COLUMN bench_note",
        )
    ]
