"""A sent quote or invoice is mailed with its PDF over real SMTP, once per document version."""

import smtplib

import pytest
from django.db import IntegrityError
from django.test import override_settings
from django_tenants.utils import tenant_context

from shared_apps.outbox.models import OutboxMessage
from tenant_apps.notifications import document_email
from tenant_apps.notifications import texts as notifications
from tenant_apps.notifications.models import DocumentEmail
from tests.api.test_invitations import _free_port, smtp_inbox  # noqa: F401 - the real SMTP sink fixture
from tests.concurrency import run_at_once
from tests.events import deliver_events
from tests.factories import CustomerFactory
from tests.tenant_apps.invoices.factories import sent_invoice
from tests.tenant_apps.quotes.factories import sent_quote


def run_email_job(test_tenant) -> DocumentEmail | None:
    deliver_events(schema_name=test_tenant.tenant.schema_name)  # the sent document's event reaches notifications
    job = OutboxMessage.objects.filter(actor_name=notifications.DOCUMENT_EMAIL_ACTOR).latest("id")
    with test_tenant.schema():
        return document_email.email_document(**job.kwargs)


def test_a_sent_quote_is_mailed_with_its_pdf_once(tenant_a, smtp_inbox):  # noqa: F811
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant, customer_id=CustomerFactory(email="lee@example.test").pk)

    mailed = run_email_job(tenant_a)
    again = run_email_job(tenant_a)

    [message] = smtp_inbox.messages
    [attachment] = list(message.iter_attachments())
    assert message["To"] == "lee@example.test"
    assert quote.number in message["Subject"]
    assert tenant_a.tenant.name in message["Subject"]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{quote.number}.pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert (mailed.status, mailed.document_version) == ("sent", quote.version)
    assert again is None


def test_a_sent_invoice_is_mailed_too(tenant_a, smtp_inbox):  # noqa: F811
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant, customer_id=CustomerFactory(email="sam@example.test").pk)

    run_email_job(tenant_a)

    [message] = smtp_inbox.messages
    assert invoice.number in message["Subject"]
    assert [part.get_filename() for part in message.iter_attachments()] == [f"{invoice.number}.pdf"]


def test_a_mail_server_that_is_away_releases_the_claim_so_the_retry_mails(tenant_a, smtp_inbox):  # noqa: F811
    with tenant_a.schema():
        sent_quote(tenant_a.tenant, customer_id=CustomerFactory(email="lee@example.test").pk)

    with override_settings(EMAIL_PORT=_free_port(), EMAIL_TIMEOUT=2), pytest.raises((smtplib.SMTPException, OSError)):
        run_email_job(tenant_a)
    with tenant_a.schema():
        claims = DocumentEmail.objects.count()
    retried = run_email_job(tenant_a)

    assert claims == 0
    assert retried.status == "sent"
    assert len(smtp_inbox.messages) == 1


def test_an_address_removed_before_the_job_is_recorded_as_skipped(tenant_a, smtp_inbox):  # noqa: F811
    with tenant_a.schema():
        customer = CustomerFactory(email="lee@example.test")
        sent_quote(tenant_a.tenant, customer_id=customer.pk)
        deliver_events(schema_name=tenant_a.tenant.schema_name)  # the email job is written
        customer.email = ""
        customer.save(update_fields=["email"])

    skipped = run_email_job(tenant_a)

    assert (skipped.status, skipped.note) == ("skipped", "The customer has no email address.")
    assert smtp_inbox.messages == []


@pytest.mark.concurrency
def test_one_email_job_run_by_three_workers_at_once_mails_once(committed_tenant, smtp_inbox):  # noqa: F811
    with committed_tenant.schema():
        quote = sent_quote(committed_tenant.tenant, customer_id=CustomerFactory(email="lee@example.test").pk)
    deliver_events(schema_name=committed_tenant.tenant.schema_name)
    [job] = OutboxMessage.objects.filter(
        schema_name=committed_tenant.tenant.schema_name, actor_name=notifications.DOCUMENT_EMAIL_ACTOR
    )

    def deliver() -> str | None:
        with tenant_context(committed_tenant.tenant):
            claim = document_email.email_document(**job.kwargs)
            return claim.status if claim is not None else None

    outcomes = run_at_once([deliver] * 3, expected=IntegrityError)
    OutboxMessage.objects.filter(schema_name=committed_tenant.tenant.schema_name).delete()
    assert sorted(outcomes, key=str) == [None, None, "sent"]
    assert [message["Subject"] for message in smtp_inbox.messages] == [
        f"{committed_tenant.tenant.name}: quote {quote.number}"
    ]
