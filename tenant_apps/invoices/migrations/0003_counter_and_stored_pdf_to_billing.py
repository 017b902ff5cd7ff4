# DocumentCounter and StoredPdf moved to billing (billing 0001), which took over their tables
# as they are: invoices only forgets them, the database is untouched.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_billing_initial"),
        ("invoices", "0002_stored_pdf_inputs_sha256"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DocumentCounter"),
                migrations.DeleteModel(name="StoredPdf"),
            ],
            database_operations=[],
        ),
    ]
