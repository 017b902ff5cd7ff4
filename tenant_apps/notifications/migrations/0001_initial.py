"""DocumentEmail moves here from sms: its table stays where it is (state only)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("sms", "0007_message_delivery_checked")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DocumentEmail",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("document_type", models.CharField(max_length=16)),
                        ("document_id", models.BigIntegerField()),
                        ("document_version", models.PositiveIntegerField()),
                        ("to_email", models.EmailField(blank=True, max_length=254)),
                        (
                            "status",
                            models.CharField(
                                choices=[("sending", "Sending"), ("sent", "Sent"), ("skipped", "Skipped")],
                                max_length=8,
                            ),
                        ),
                        ("note", models.CharField(blank=True, max_length=200)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "sms_documentemail",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("document_type", "document_id", "document_version"),
                                name="sms_document_email_once",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
