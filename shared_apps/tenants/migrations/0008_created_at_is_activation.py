"""A business claimed from the pool was dated when its schema was made; date it when it was
created (activated) instead."""

from django.db import migrations
from django.db.models import F


def date_businesses_at_activation(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    Tenant.objects.filter(activated_at__isnull=False).update(created_at=F("activated_at"))


class Migration(migrations.Migration):
    dependencies = [("tenants", "0007_stripe_payment_reminder_days")]

    operations = [migrations.RunPython(date_businesses_at_activation, migrations.RunPython.noop)]
