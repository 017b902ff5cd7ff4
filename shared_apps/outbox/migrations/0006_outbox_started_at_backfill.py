from django.db import migrations
from django.db.models import F


def mark_published_rows_started(apps, schema_editor):
    """Rows published before workers recorded starts count as started, so none is re-published."""
    OutboxMessage = apps.get_model("outbox", "OutboxMessage")
    OutboxMessage.objects.filter(published_at__isnull=False, started_at__isnull=True).update(
        started_at=F("published_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("outbox", "0005_outbox_started_at"),
    ]

    operations = [
        migrations.RunPython(mark_published_rows_started, migrations.RunPython.noop),
    ]
