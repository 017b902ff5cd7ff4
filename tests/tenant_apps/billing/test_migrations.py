"""The numbering counters and stored PDFs moved from invoices to billing without touching
their tables: rows written before the move are the billing models' rows after it."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tenant_apps.billing.models import DocumentCounter, StoredPdf


def migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def test_rows_written_before_the_move_are_kept(tenant_a):
    with tenant_a.schema():
        migrate([("billing", None)])  # back to where invoices held the tables
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO invoices_documentcounter (document_type, year, last_number) VALUES ('invoice', 2025, 41)"
            )
            cursor.execute(
                "INSERT INTO invoices_storedpdf"
                " (document_type, document_id, document_version, inputs_sha256, content, sha256, rendered_at)"
                " VALUES ('quote', 7, 3, '', '\\x255044462d', 'digest', now())"
            )

        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

        counter = DocumentCounter.objects.get(document_type="invoice", year=2025)
        stored = StoredPdf.objects.get(document_type="quote", document_id=7)

    assert counter.last_number == 41
    assert (stored.document_version, bytes(stored.content)) == (3, b"%PDF-")
