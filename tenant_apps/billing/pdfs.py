"""A document's PDF: what it prints (assembled from the document under its row lock) and the
stored copy served until that changes."""

import hashlib
from collections.abc import Sequence
from typing import cast

from django.db import connection, transaction
from django.utils import timezone

from shared_apps.tenants.branding import tenant_logo
from shared_apps.tenants.models import Tenant
from tenant_apps.billing.models import Document, DocumentItem, StoredPdf
from tenant_apps.billing.pdf import DocumentKind, PdfDocument, PdfLine, render_document_pdf
from tenant_apps.billing.queries import lock_document


def pdf_lines(rows: Sequence[DocumentItem]) -> list[PdfLine]:
    return [
        PdfLine(
            description=row.description,
            quantity=row.quantity.normalize(),
            unit_price=row.unit_price,
            tax_rate=row.tax_rate.normalize(),
            amount=row.subtotal,
            discount=row.discount,
        )
        for row in rows
    ]


def pdf_document(document: Document, *, tenant: Tenant) -> PdfDocument:
    """What `document` prints: the shared fields, and the kind's own (`pdf_fields`)."""
    issued = document.issued_at or timezone.now()
    logo = tenant_logo(tenant)
    return PdfDocument(
        kind=cast(DocumentKind, document.label()),  # PdfDocument checks it
        number=document.number,
        business_name=tenant.name or tenant.slug or "",
        business_address=tenant.address or None,
        business_phone=tenant.phone or None,
        business_email=tenant.email or None,
        business_tax_id=tenant.tax_id or None,
        brand_color=tenant.brand_color or None,
        logo=logo.content if logo is not None else None,
        customer_name=document.customer.name,
        customer_email=document.customer.email or None,
        customer_address=document.customer.address or None,
        service_address="\n".join(place.postal_lines()) if (place := document.service_property) else None,
        issue_date=tenant.local_date(issued),
        currency=document.currency,
        lines=pdf_lines(list(document.items.all())),
        subtotal=document.subtotal,
        discount_total=document.discount_total,
        tax_total=document.tax_total,
        total=document.total,
        notes=document.notes or None,
        **document.pdf_fields(),
    )


def stored_document_pdf(document: Document, *, tenant: Tenant) -> bytes:
    """The PDF of `document`, rendered once and then served from its StoredPdf row.

    A numbered document's PDF is kept for its `version`: what was issued stays as issued. A
    draft's is kept while everything it prints is unchanged, its version but also its
    customer, the business name and the day (a draft is dated today), so it follows every
    change without being rendered on every request.

    What to print is read under the document's row lock, so items and totals are of one
    version; rendering runs after the lock is released, and the result is stored unless a
    newer version was stored meanwhile."""
    model = type(document)
    stored = StoredPdf.objects.filter(document_type=model.document_type, document_id=document.pk).first()
    if not document.is_draft and stored is not None and stored.document_version == document.version:
        return bytes(stored.content)
    with transaction.atomic():
        locked = lock_document(model, document_id=document.pk)
        description = pdf_document(locked, tenant=tenant)
    inputs = hashlib.sha256(repr(description).encode()).hexdigest()
    if stored is not None and (stored.document_version, stored.inputs_sha256) == (locked.version, inputs):
        return bytes(stored.content)
    content = render_document_pdf(document=description)
    return _store_pdf(
        document_type=model.document_type, document_id=locked.pk, version=locked.version, inputs=inputs, content=content
    )


def delete_stored_pdf(document: Document) -> None:
    StoredPdf.objects.filter(document_type=document.document_type, document_id=document.pk).delete()


def _store_pdf(*, document_type: str, document_id: int, version: int, inputs: str, content: bytes) -> bytes:
    """Keep `content` as the document's PDF unless a newer version's is stored, and return
    the bytes to serve: those stored first when a concurrent request rendered the same
    inputs, so every client gets identical bytes. (`StoredPdf` kept the table name it had in
    invoices.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO invoices_storedpdf AS stored
                (document_type, document_id, document_version, inputs_sha256, content, sha256, rendered_at)
            VALUES (%s, %s, %s, %s, %s, %s, now())
            ON CONFLICT (document_type, document_id) DO UPDATE SET
                document_version = EXCLUDED.document_version,
                inputs_sha256 = EXCLUDED.inputs_sha256,
                content = EXCLUDED.content,
                sha256 = EXCLUDED.sha256,
                rendered_at = EXCLUDED.rendered_at
            WHERE stored.document_version < EXCLUDED.document_version
               OR (stored.document_version = EXCLUDED.document_version
                   AND stored.inputs_sha256 <> EXCLUDED.inputs_sha256)
            RETURNING 1
            """,
            [document_type, document_id, version, inputs, content, hashlib.sha256(content).hexdigest()],
        )
        if cursor.fetchone() is not None:
            return content
    first = StoredPdf.objects.filter(
        document_type=document_type, document_id=document_id, document_version=version, inputs_sha256=inputs
    ).first()
    return bytes(first.content) if first is not None else content
