"""A document's PDF: what it prints (assembled from the document under its row lock) and the
stored copy served until that changes, kept in object storage (shared_apps/storage.py)."""

import dataclasses
import hashlib
import uuid
from collections.abc import Sequence
from typing import cast

from django.db import connection, transaction
from django.utils import timezone

from shared_apps import storage
from shared_apps.tenants.branding import tenant_logo
from shared_apps.tenants.models import Tenant
from tenant_apps.billing.models import Document, DocumentItem, StoredPdf
from tenant_apps.billing.pdf import DocumentKind, PdfDocument, PdfLine, PdfPhoto, render_document_pdf
from tenant_apps.billing.queries import lock_document
from tenant_apps.files import queries as files_queries
from tenant_apps.files import services as files

PDF = "application/pdf"


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


def _left_out(row: DocumentItem) -> bool:
    """An optional quote line the customer has not chosen: printed apart, not in the totals."""
    return getattr(row, "optional", False) and not getattr(row, "selected", True)


def pdf_document(document: Document, *, tenant: Tenant) -> PdfDocument:
    """What `document` prints: the shared fields, and the kind's own (`pdf_fields`)."""
    issued = document.issued_at or timezone.now()
    logo = tenant_logo(tenant)
    rows = list(document.items.all())
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
        lines=pdf_lines([row for row in rows if not _left_out(row)]),
        optional_lines=pdf_lines([row for row in rows if _left_out(row)]),
        subtotal=document.subtotal,
        discount_total=document.discount_total,
        tax_total=document.tax_total,
        total=document.total,
        notes=document.notes or None,
        photos=[
            PdfPhoto(attachment_id=photo.pk, caption=photo.caption)
            for photo in files_queries.pdf_photos(parent_type=document.document_type, parent_id=document.pk)
        ],
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
        kept = stored_pdf_bytes(stored)
        if kept is not None:
            return kept
    with transaction.atomic():
        locked = lock_document(model, document_id=document.pk)
        description = pdf_document(locked, tenant=tenant)
    inputs = hashlib.sha256(repr(description).encode()).hexdigest()
    if stored is not None and (stored.document_version, stored.inputs_sha256) == (locked.version, inputs):
        kept = stored_pdf_bytes(stored)
        if kept is not None:
            return kept
    content = render_document_pdf(document=with_photo_images(description))
    return _store_pdf(
        document_type=model.document_type, document_id=locked.pk, version=locked.version, inputs=inputs, content=content
    )


def with_photo_images(description: PdfDocument) -> PdfDocument:
    """`description` with the bytes of its photos, read from storage (outside any row lock)."""
    if not description.photos:
        return description
    images = files.pdf_images(attachment_ids=[photo.attachment_id for photo in description.photos])
    photos = [dataclasses.replace(photo, image=images[photo.attachment_id]) for photo in description.photos]
    return dataclasses.replace(description, photos=photos)


def stored_pdf_bytes(stored: StoredPdf) -> bytes | None:
    """The bytes of a stored PDF (None when its object is gone: render it again). One stored
    in the database before PDFs moved to object storage moves there now."""
    if stored.key:
        return storage.read(stored.key)
    if stored.content is None:
        return None
    content = bytes(stored.content)
    key = _new_key(stored.document_type, stored.document_id)
    storage.write(key, content, content_type=PDF)
    if StoredPdf.objects.filter(pk=stored.pk, key="").update(key=key, content=None) == 0:
        storage.delete(key)  # moved by a concurrent request meanwhile
    return content


def delete_stored_pdf(document: Document) -> None:
    """Delete the document's stored PDF; its object goes once the deletion commits."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM invoices_storedpdf WHERE document_type = %s AND document_id = %s RETURNING key",
            [document.document_type, document.pk],
        )
        keys = [key for (key,) in cursor.fetchall() if key]
    if keys:
        transaction.on_commit(lambda: storage.delete(*keys))


def _new_key(document_type: str, document_id: int) -> str:
    return f"pdfs/{document_type}/{document_id}/{uuid.uuid4().hex}.pdf"


def _store_pdf(*, document_type: str, document_id: int, version: int, inputs: str, content: bytes) -> bytes:
    """Keep `content` as the document's PDF unless a newer version's is stored, and return
    the bytes to serve: those stored first when a concurrent request rendered the same
    inputs, so every client gets identical bytes. The object is written first, under a key
    of its own, and the row then points at it; the object of the rendering it replaced, or
    ours when the row kept another, is deleted. (`StoredPdf` kept the table name it had in
    invoices.)"""
    key = _new_key(document_type, document_id)
    storage.write(key, content, content_type=PDF)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH previous AS (
                SELECT key FROM invoices_storedpdf WHERE document_type = %s AND document_id = %s
            )
            INSERT INTO invoices_storedpdf AS stored
                (document_type, document_id, document_version, inputs_sha256, key, content, sha256, rendered_at)
            VALUES (%s, %s, %s, %s, %s, NULL, %s, now())
            ON CONFLICT (document_type, document_id) DO UPDATE SET
                document_version = EXCLUDED.document_version,
                inputs_sha256 = EXCLUDED.inputs_sha256,
                key = EXCLUDED.key,
                content = NULL,
                sha256 = EXCLUDED.sha256,
                rendered_at = EXCLUDED.rendered_at
            WHERE stored.document_version < EXCLUDED.document_version
               OR (stored.document_version = EXCLUDED.document_version
                   AND stored.inputs_sha256 <> EXCLUDED.inputs_sha256)
            RETURNING (SELECT key FROM previous)
            """,
            [
                *(document_type, document_id),
                *(document_type, document_id, version, inputs, key, hashlib.sha256(content).hexdigest()),
            ],
        )
        replaced = cursor.fetchone()
    if replaced is not None:
        if replaced[0]:
            storage.delete(replaced[0])
        return content
    storage.delete(key)
    first = StoredPdf.objects.filter(
        document_type=document_type, document_id=document_id, document_version=version, inputs_sha256=inputs
    ).first()
    kept = stored_pdf_bytes(first) if first is not None else None
    return kept if kept is not None else content
