"""SMS templates: a body with named variables, and the one function that renders it.

A variable is a name in braces, `{customer_name}`. Its value comes from named objects: the
tenant (always), the customer, an appointment, an invoice, a quote (`template_values`).
Any other braced name is refused when the template is saved, and a variable with no value
when it is sent; both answer 400 naming it."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.appointments.models import Appointment
from tenant_apps.billing.totals import format_money
from tenant_apps.customers.models import Customer
from tenant_apps.invoices.models import Invoice
from tenant_apps.payments.pay_links import pay_url
from tenant_apps.quotes.models import Quote

VARIABLE = re.compile(r"\{([^{}]*)\}")
# Every variable a template may use, and the object its value comes from.
TEMPLATE_VARIABLES = {
    "business_name": "the business",
    "customer_name": "customer_id, or a customer's number in to",
    "appointment_time": "appointment_id",
    "invoice_number": "invoice_id of a sent invoice",
    "amount_due": "invoice_id of a sent invoice",
    "pay_url": "invoice_id of a sent invoice",
    "quote_number": "quote_id of a sent quote",
    "quote_total": "quote_id of a sent quote",
}


@dataclass(frozen=True)
class TemplateContext:
    """The objects a text is about; each is optional."""

    tenant: Tenant
    customer: Customer | None = None
    appointment: Appointment | None = None
    invoice: Invoice | None = None
    quote: Quote | None = None


def template_variables(body: str) -> list[str]:
    """The variable names `body` uses, in order of first use."""
    return list(dict.fromkeys(VARIABLE.findall(body)))


def check_template_body(body: str) -> None:
    """Refuse a body that uses a variable no text can fill (400 naming it)."""
    unknown = [name for name in template_variables(body) if name not in TEMPLATE_VARIABLES]
    if unknown:
        raise ValidationFailed(
            f"Unknown template variable {{{unknown[0]}}}.",
            code="unknown_template_variable",
            details=[{"field": "body", "variable": name, "message": "Unknown variable."} for name in unknown],
        )


def readable_local_time(instant: datetime, *, zone: ZoneInfo) -> str:
    """`Tue 3 Mar, 2:30 PM` in the tenant's zone."""
    local = instant.astimezone(zone)
    hour = local.hour % 12 or 12
    return f"{local:%a} {local.day} {local:%b}, {hour}:{local:%M %p}"


def template_values(context: TemplateContext) -> dict[str, str]:
    """The value of each variable the context's objects can fill."""
    values = {"business_name": context.tenant.name}
    if context.customer is not None:
        values["customer_name"] = context.customer.name
    if context.appointment is not None:
        values["appointment_time"] = readable_local_time(context.appointment.starts_at, zone=context.tenant.zone)
    if context.invoice is not None and context.invoice.number:
        values["invoice_number"] = context.invoice.number
        values["amount_due"] = format_money(context.invoice.amount_due, context.invoice.currency)
        values["pay_url"] = pay_url(invoice_id=context.invoice.pk)
    if context.quote is not None and context.quote.number:
        values["quote_number"] = context.quote.number
        values["quote_total"] = format_money(context.quote.total, context.quote.currency)
    return values


def render_template(*, body: str, values: Mapping[str, str]) -> str:
    """`body` with every variable replaced; a variable without a value is a 400 naming it and
    the object that fills it."""
    check_template_body(body)
    missing = [name for name in template_variables(body) if name not in values]
    if missing:
        raise ValidationFailed(
            f"No value for template variable {{{missing[0]}}}.",
            code="missing_template_value",
            details=[
                {"field": "variables", "variable": name, "message": f"Needs {TEMPLATE_VARIABLES[name]}."}
                for name in missing
            ],
        )
    return VARIABLE.sub(lambda match: values[match[1]], body)
