"""Delete every stored answer: before idempotency was limited to business POSTs, answers of
login, refresh and registration (with live tokens) were stored. Records only live 24 h, so
forgetting them costs at most a replay."""

from django.db import migrations


def forget_stored_answers(apps, schema_editor):
    apps.get_model("idempotency", "IdempotencyRecord").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("idempotency", "0001_initial")]

    operations = [migrations.RunPython(forget_stored_answers, migrations.RunPython.noop)]
