"""DocumentEmail now belongs to notifications; the table is kept (state only)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sms", "0008_automatic_text_unsendable"), ("notifications", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="DocumentEmail")],
            database_operations=[],
        ),
    ]
