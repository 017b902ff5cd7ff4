"""What appointments, invoices and quotes say in a text: the template variables each fills.
Registered with the text channel (`register_all`), which knows none of these objects."""

from shared_apps.tenants.models import Tenant
from tenant_apps.appointments import queries as appointment_queries
from tenant_apps.appointments.models import Appointment
from tenant_apps.billing.totals import format_money
from tenant_apps.invoices import queries as invoice_queries
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments.pay_links import pay_url
from tenant_apps.quotes import queries as quote_queries
from tenant_apps.quotes.models import Quote
from tenant_apps.sms.templates import (
    TemplateContext,
    TemplateObject,
    readable_local_time,
    register_template_source,
)


def appointment_values(tenant: Tenant, appointment: Appointment) -> dict[str, str]:
    return {"appointment_time": readable_local_time(appointment.starts_at, zone=tenant.zone)}


def invoice_values(invoice: Invoice) -> dict[str, str]:
    """A sent invoice's number, amount due and pay link (a draft has none)."""
    if not invoice.number:
        return {}
    return {
        "invoice_number": invoice.number,
        "amount_due": format_money(invoice.amount_due, invoice.currency),
        "pay_url": pay_url(invoice_id=invoice.pk),
    }


def quote_values(quote: Quote) -> dict[str, str]:
    """A sent quote's number and total (a draft has none)."""
    if not quote.number:
        return {}
    return {"quote_number": quote.number, "quote_total": format_money(quote.total, quote.currency)}


def appointment_context(tenant: Tenant, appointment: Appointment) -> TemplateContext:
    return TemplateContext(
        tenant=tenant, customer=appointment.customer, object_values=appointment_values(tenant, appointment)
    )


def invoice_context(tenant: Tenant, invoice: Invoice) -> TemplateContext:
    return TemplateContext(tenant=tenant, customer=invoice.customer, object_values=invoice_values(invoice))


def quote_context(tenant: Tenant, quote: Quote) -> TemplateContext:
    return TemplateContext(tenant=tenant, customer=quote.customer, object_values=quote_values(quote))


def _appointment(tenant: Tenant, appointment_id: int) -> TemplateObject:
    appointment = appointment_queries.get_appointment(appointment_id=appointment_id)
    return TemplateObject(values=appointment_values(tenant, appointment), customer=appointment.customer)


def _invoice(tenant: Tenant, invoice_id: int) -> TemplateObject:
    invoice = invoice_queries.get_invoice(invoice_id=invoice_id)
    return TemplateObject(values=invoice_values(invoice), customer=invoice.customer)


def _quote(tenant: Tenant, quote_id: int) -> TemplateObject:
    quote = quote_queries.get_quote(quote_id=quote_id)
    return TemplateObject(values=quote_values(quote), customer=quote.customer)


def register_all() -> None:
    register_template_source("appointment", _appointment)
    register_template_source("invoice", _invoice)
    register_template_source("quote", _quote)
