"""Gapless document numbers: `<PREFIX>-<YYYY>-<NNNN>` from one locked counter row per
(document type, local year)."""

from django.db import connection

from tenant_apps.billing.models import DocumentCounter


def format_document_number(*, prefix: str, year: int, sequence: int) -> str:
    """`Q-2026-0007`; more than 9999 documents in a year simply widen the last part."""
    return f"{prefix}-{year}-{sequence:04d}"


def assign_document_number(*, document_type: str, year: int, prefix: str) -> str:
    """The next number of `document_type` in `year` (the tenant's local year).

    Must run inside the transaction that takes the document out of DRAFT: the counter row
    stays locked until that transaction ends, so a rollback returns the number and
    concurrent senders queue instead of sharing or skipping one."""
    if not connection.in_atomic_block:
        raise RuntimeError("assign_document_number must run inside the document's transaction.")
    # ON CONFLICT DO NOTHING: the first document of a year creates the row without racing
    # another first document into a unique violation.
    DocumentCounter.objects.bulk_create(
        [DocumentCounter(document_type=document_type, year=year, last_number=0)], ignore_conflicts=True
    )
    counter = DocumentCounter.objects.select_for_update().get(document_type=document_type, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return format_document_number(prefix=prefix, year=year, sequence=counter.last_number)
