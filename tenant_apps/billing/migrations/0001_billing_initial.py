# The numbering counters and stored PDFs moved here from invoices. Their tables keep the names
# invoices created (`db_table`), so this migration only records the models in billing's state:
# no table is created, renamed or copied.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("invoices", "0002_stored_pdf_inputs_sha256"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DocumentCounter",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "document_type",
                            models.CharField(choices=[("quote", "Quote"), ("invoice", "Invoice")], max_length=16),
                        ),
                        ("year", models.PositiveSmallIntegerField()),
                        ("last_number", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "invoices_documentcounter",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("document_type", "year"), name="invoices_counter_type_year_uniq"
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="StoredPdf",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "document_type",
                            models.CharField(choices=[("quote", "Quote"), ("invoice", "Invoice")], max_length=16),
                        ),
                        ("document_id", models.BigIntegerField()),
                        ("document_version", models.PositiveIntegerField()),
                        (
                            "inputs_sha256",
                            models.CharField(default="", help_text="Digest of what the PDF prints", max_length=64),
                        ),
                        ("content", models.BinaryField()),
                        ("sha256", models.CharField(max_length=64)),
                        ("rendered_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "db_table": "invoices_storedpdf",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("document_type", "document_id"), name="invoices_pdf_document_uniq"
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
