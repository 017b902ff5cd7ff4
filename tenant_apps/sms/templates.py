"""SMS templates: a body with named variables, and the one function that renders it.

A variable is a name in braces, `{customer_name}`. Its value comes from named objects: the
tenant (always), the customer, and what the text is about (an appointment, an invoice, a
quote). The text channel knows none of those business objects: an app above it registers a
`TemplateSource` per kind of object (`register_template_source`), which fills that object's
variables. Any other braced name is refused when the template is saved, and a variable with
no value when it is sent; both answer 400 naming it."""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from shared_apps.errors import ValidationFailed
from shared_apps.tenants.models import Tenant
from tenant_apps.customers.models import Customer

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
    """What a text is about: the business, the customer, and the variables filled by the
    objects it concerns (`object_values`, from their template sources)."""

    tenant: Tenant
    customer: Customer | None = None
    object_values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TemplateObject:
    """One object's variables and its customer (the recipient when none is named)."""

    values: Mapping[str, str]
    customer: Customer | None


# Reads the object with this id in the current tenant's schema (NotFound when there is none,
# so another business's id is a 404) and fills its variables.
TemplateSource = Callable[[Tenant, int], TemplateObject]

_sources: dict[str, TemplateSource] = {}


def register_template_source(kind: str, source: TemplateSource) -> None:
    """Add (or replace) the source of `kind` objects ("appointment", "invoice", "quote")."""
    _sources[kind] = source


def template_object(*, tenant: Tenant, kind: str, object_id: int) -> TemplateObject:
    """The variables of object `object_id` of `kind`, from its registered source."""
    return _sources[kind](tenant, object_id)


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
    values.update(context.object_values)
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
