"""Stored PDFs of quotes and invoices: rendered once, served while unchanged, never replaced
by a stale rendering, deleted with their draft."""

import re
import threading
import zlib
from unittest.mock import patch

import pytest
from django.db import connection, transaction

from tenant_apps.billing.models import StoredPdf
from tenant_apps.billing.pdf import render_document_pdf
from tenant_apps.billing.pdfs import stored_pdf_bytes
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import delete_invoice, render_invoice_pdf, update_invoice
from tenant_apps.payments.services import record_manual_payment
from tenant_apps.quotes.services import delete_quote, render_quote_pdf
from tests.factories import CustomerFactory
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import draft_invoice, sent_invoice
from tests.tenant_apps.quotes.factories import draft_quote, sent_quote


def pdf_text(content: bytes) -> str:
    """The text drawn by the PDF's (Flate-compressed) content streams. A stream whose data ends
    in a CR byte loses it to the pattern; a decompressor object still reads what came before."""
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", content, re.DOTALL)
    text = []
    for stream in streams:
        try:
            text.append(zlib.decompressobj().decompress(stream).decode("latin-1"))
        except zlib.error:
            continue
    return "".join(text)


def test_invoice_pdf_is_a_pdf_with_number_and_total(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(name="Ada Lovelace")
        invoice = sent_invoice(tenant_a.tenant, customer_id=customer.pk, items=[item(unit_price=123456)])

        content = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)

    assert content.startswith(b"%PDF-")
    assert content.rstrip().endswith(b"%%EOF")
    text = pdf_text(content)
    assert invoice.number in text
    assert "$2,672.82" in text  # 2 x 1,234.56 + 8.25 % tax (203.70)
    assert "Ada Lovelace" in text
    assert "Alpha Services" in text


def test_quote_pdf_is_stored_once_per_version(tenant_a):
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant)

        first = render_quote_pdf(tenant=tenant_a.tenant, quote_id=quote.pk)
        again = render_quote_pdf(tenant=tenant_a.tenant, quote_id=quote.pk)
        stored = StoredPdf.objects.get(document_type="quote", document_id=quote.pk)
        kept = stored_pdf_bytes(stored)

    assert first == again == kept
    assert stored.document_version == quote.version
    assert quote.number in pdf_text(first)


def spy_on_rendering():
    """Counts real renderings (the renderer still runs)."""
    return patch("tenant_apps.billing.pdfs.render_document_pdf", wraps=render_document_pdf)


def render_invoice(tenant, document_id):
    return render_invoice_pdf(tenant=tenant, invoice_id=document_id)


def render_quote(tenant, document_id):
    return render_quote_pdf(tenant=tenant, quote_id=document_id)


def delete_invoice_by_id(document_id):
    delete_invoice(invoice_id=document_id)


def delete_quote_by_id(document_id):
    delete_quote(quote_id=document_id)


# (make a document, render its PDF, its StoredPdf.document_type)
PDF_CASES = {
    "draft invoice": (draft_invoice, render_invoice, "invoice"),
    "sent invoice": (sent_invoice, render_invoice, "invoice"),
    "draft quote": (draft_quote, render_quote, "quote"),
    "sent quote": (sent_quote, render_quote, "quote"),
}


@pytest.mark.parametrize("case", PDF_CASES)
def test_a_pdf_is_rendered_once_then_served_from_storage(tenant_a, case):
    make, render, document_type = PDF_CASES[case]
    with tenant_a.schema():
        document = make(tenant_a.tenant)

        with spy_on_rendering() as renderer:
            first = render(tenant_a.tenant, document.pk)
            again = render(tenant_a.tenant, document.pk)
        stored = StoredPdf.objects.get(document_id=document.pk, document_type=document_type)
        kept = stored_pdf_bytes(stored)

    assert renderer.call_count == 1
    assert first == again == kept
    assert stored.document_version == document.version


@pytest.mark.parametrize(
    ("make", "render", "delete"),
    [(draft_invoice, render_invoice, delete_invoice_by_id), (draft_quote, render_quote, delete_quote_by_id)],
    ids=["invoice", "quote"],
)
def test_deleting_a_draft_deletes_its_stored_pdf(tenant_a, make, render, delete):
    with tenant_a.schema():
        document = make(tenant_a.tenant)
        render(tenant_a.tenant, document.pk)

        delete(document.pk)

        assert not StoredPdf.objects.filter(document_id=document.pk).exists()


def test_editing_a_draft_renders_its_pdf_anew(tenant_a):
    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant, items=[item(description="Old boiler")])
        with spy_on_rendering() as renderer:
            before = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)
            update_invoice(
                tenant=tenant_a.tenant,
                invoice_id=invoice.pk,
                version=invoice.version,
                changes={"items": [item(description="New boiler")]},
            )
            after = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)
            again = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)

    assert renderer.call_count == 2
    assert "Old boiler" in pdf_text(before)
    assert "New boiler" in pdf_text(after)
    assert "DRAFT" in pdf_text(after)
    assert again == after


def test_a_drafts_pdf_follows_its_customer_but_a_sent_ones_stays_as_issued(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory(name="Ada Lovelace")
        draft = draft_invoice(tenant_a.tenant, customer_id=customer.pk)
        sent = sent_invoice(tenant_a.tenant, customer_id=customer.pk)
        draft_before = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=draft.pk)
        sent_before = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=sent.pk)
        customer.name = "Ada King"
        customer.save()

        draft_after = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=draft.pk)
        sent_after = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=sent.pk)

    assert "Ada Lovelace" in pdf_text(draft_before)
    assert "Ada King" in pdf_text(draft_after)
    assert sent_after == sent_before


def edit_items(tenant, invoice):
    update_invoice(
        tenant=tenant, invoice_id=invoice.pk, version=invoice.version, changes={"items": [item(description="New")]}
    )


def pay_one_cent(tenant, invoice):
    record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")


# (make the invoice, change it while its PDF renders, text before, text after)
CHANGES_DURING_RENDERING = {
    "draft edited": (draft_invoice, edit_items, "(Old)", "(New)"),
    "sent invoice paid": (sent_invoice, pay_one_cent, "(Total)", "(Paid)"),
}


@pytest.mark.concurrency
@pytest.mark.parametrize("scenario", CHANGES_DURING_RENDERING)
def test_rendering_holds_no_row_lock_and_a_stale_render_never_replaces_a_newer_one(committed_tenant, scenario):
    make, change, old_text, new_text = CHANGES_DURING_RENDERING[scenario]
    tenant = committed_tenant.tenant
    with committed_tenant.schema():
        invoice = make(tenant, items=[item(description="Old")])
    meanwhile: list[object] = []

    def change_and_render() -> None:
        connection.set_tenant(tenant)
        try:
            with transaction.atomic():
                Invoice.objects.select_for_update(nowait=True).get(pk=invoice.pk)
            change(tenant, invoice)
            meanwhile.append(render_invoice_pdf(tenant=tenant, invoice_id=invoice.pk))
        except Exception as error:  # reported by the assertions below
            meanwhile.append(error)
        finally:
            connection.close()

    def render_while_changed(**kwargs):
        if threading.current_thread() is threading.main_thread():
            other = threading.Thread(target=change_and_render)
            other.start()
            other.join(timeout=30)
        return render_document_pdf(**kwargs)

    with committed_tenant.schema():
        with patch("tenant_apps.billing.pdfs.render_document_pdf", side_effect=render_while_changed):
            stale = render_invoice_pdf(tenant=tenant, invoice_id=invoice.pk)
        stored = StoredPdf.objects.get(document_id=invoice.pk, document_type="invoice")
        kept = stored_pdf_bytes(stored)
        with spy_on_rendering() as renderer:
            served = render_invoice_pdf(tenant=tenant, invoice_id=invoice.pk)

    [newer] = meanwhile
    assert isinstance(newer, bytes), newer
    assert old_text in pdf_text(stale)
    assert new_text not in pdf_text(stale)
    assert new_text in pdf_text(newer)
    assert (stored.document_version, kept) == (invoice.version + 1, newer)
    assert served == newer
    assert renderer.call_count == 0


def test_pdfs_are_kept_in_object_storage_under_the_tenants_prefix(tenant_a):
    from shared_apps import storage

    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        content = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)
        stored = StoredPdf.objects.get(document_id=invoice.pk, document_type="invoice")

        assert stored.content is None
        assert stored.key.startswith(f"pdfs/invoice/{invoice.pk}/")
        assert storage.read(stored.key) == content
        assert storage.full_key(stored.key).startswith(f"tenants/{tenant_a.tenant.schema_name}/")


def test_a_new_version_replaces_the_old_object(tenant_a):
    from shared_apps import storage

    with tenant_a.schema():
        invoice = draft_invoice(tenant_a.tenant, items=[item(description="Old boiler")])
        render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)
        old_key = StoredPdf.objects.get(document_id=invoice.pk, document_type="invoice").key
        update_invoice(
            tenant=tenant_a.tenant,
            invoice_id=invoice.pk,
            changes={"items": [item(description="New boiler")]},
            version=invoice.version,
        )
        render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)
        new_key = StoredPdf.objects.get(document_id=invoice.pk, document_type="invoice").key

        assert new_key != old_key
        assert storage.head(old_key) is None
        assert "New boiler" in pdf_text(storage.read(new_key))


def test_a_pdf_stored_in_the_database_before_is_served_as_issued_and_moves_to_storage(tenant_a):
    from shared_apps import storage

    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        issued = b"%PDF-1.4 as issued back then %%EOF"
        StoredPdf.objects.create(
            document_type="invoice",
            document_id=invoice.pk,
            document_version=invoice.version,
            content=issued,
            sha256="x",
        )

        with spy_on_rendering() as renderer:
            served = render_invoice_pdf(tenant=tenant_a.tenant, invoice_id=invoice.pk)
        stored = StoredPdf.objects.get(document_id=invoice.pk, document_type="invoice")

        assert (served, renderer.call_count) == (issued, 0)
        assert (stored.content, storage.read(stored.key)) == (None, issued)
