"""Mailing a sent quote or invoice to its customer with its PDF (the stored PDF service),
through Django's email framework, once per document version."""

import logging
import smtplib
from email.mime.image import MIMEImage

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from shared_apps.tenants import branding
from shared_apps.tenants.models import Tenant
from tenant_apps.billing.models import DocumentType
from tenant_apps.invoices import queries as invoice_queries
from tenant_apps.invoices.models import Invoice
from tenant_apps.invoices.services import render_invoice_pdf
from tenant_apps.notifications.models import DocumentEmail
from tenant_apps.quotes import queries as quote_queries
from tenant_apps.quotes.models import Quote
from tenant_apps.quotes.services import render_quote_pdf

logger = logging.getLogger("notifications.document_email")


def _claim(*, document_type: str, document_id: int, version: int, to_email: str, status: str, note: str = ""):
    """The send key row, or None when this version was already claimed (mailed or mailing)."""
    try:
        with transaction.atomic():
            return DocumentEmail.objects.create(
                document_type=document_type,
                document_id=document_id,
                document_version=version,
                to_email=to_email,
                status=status,
                note=note,
            )
    except IntegrityError:
        return None


def branded_mail(*, tenant: Tenant, subject: str, greeting: str, text: str, to_email: str) -> EmailMultiAlternatives:
    """A mail from the business: the text signed with its contact block, and the same as HTML
    under its logo and in its brand colour. Replies go to the business's own address."""
    contact = branding.contact_lines(tenant)
    logo = branding.tenant_logo(tenant)
    mail = EmailMultiAlternatives(
        subject=subject,
        body="\n\n".join([greeting, text, "\n".join(contact)]),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to_email],
        reply_to=[tenant.email] if tenant.email else None,
    )
    html = format_html(
        '<div style="font-family:sans-serif">{}<p>{}</p><p>{}</p>'
        '<p style="color:{};font-weight:bold;margin-bottom:0">{}</p><p style="margin-top:0">{}</p></div>',
        format_html('<img src="cid:logo" alt="{}" style="max-height:60px">', tenant.name) if logo else "",
        greeting,
        text,
        tenant.brand_color or "#212529",
        contact[0] if contact else "",
        format_html_join(mark_safe("<br>"), "{}", ((line,) for line in contact[1:])),
    )
    mail.attach_alternative(html, "text/html")
    if logo is not None:
        image = MIMEImage(logo.content, _subtype=logo.content_type.removeprefix("image/"))
        image.add_header("Content-ID", "<logo>")
        image.add_header("Content-Disposition", "inline", filename="logo")
        mail.attach(image)
    return mail


def email_document(*, tenant_id: int, document_type: str, document_id: int, version: int) -> DocumentEmail | None:
    """Mail version `version` of the document to its customer, with the PDF attached. The send
    key row is committed before the mail goes, so a re-delivered job mails nothing; a mail
    server that refuses or is away releases it and raises, so the job is retried. Returns the
    row, or None when this version was claimed before."""
    tenant = Tenant.objects.get(pk=tenant_id)
    document: Quote | Invoice
    if document_type == DocumentType.QUOTE:
        document = quote_queries.get_quote(quote_id=document_id)
        kind = "quote"
    else:
        document = invoice_queries.get_invoice(invoice_id=document_id)
        kind = "invoice"
    to_email = document.customer.email
    if not to_email:
        return _claim(
            document_type=document_type,
            document_id=document_id,
            version=version,
            to_email="",
            status=DocumentEmail.Status.SKIPPED,
            note="The customer has no email address.",
        )
    claim = _claim(
        document_type=document_type,
        document_id=document_id,
        version=version,
        to_email=to_email,
        status=DocumentEmail.Status.SENDING,
    )
    if claim is None:
        return None
    if document_type == DocumentType.QUOTE:
        pdf = render_quote_pdf(tenant=tenant, quote_id=document_id)
    else:
        pdf = render_invoice_pdf(tenant=tenant, invoice_id=document_id)
    mail = branded_mail(
        tenant=tenant,
        subject=f"{tenant.name}: {kind} {document.number}",
        greeting=f"Hello {document.customer.name},",
        text=f"please find {kind} {document.number} from {tenant.name} attached.",
        to_email=to_email,
    )
    mail.attach(f"{document.number}.pdf", pdf, "application/pdf")
    try:
        mail.send()
    except (smtplib.SMTPException, OSError):
        claim.delete()
        logger.warning("Could not mail a %s; the job will retry", kind, extra={"document_id": document_id})
        raise
    claim.status = DocumentEmail.Status.SENT
    claim.sent_at = timezone.now()
    claim.save(update_fields=["status", "sent_at"])
    return claim
