"""Quotes for tests, made through the services so their stored totals are the real ones.
Call inside `with tenant.schema():`."""

from typing import Any

from shared_apps.tenants.models import Tenant
from tenant_apps.quotes import services
from tenant_apps.quotes.models import Quote
from tests.tenant_apps.billing.factories import draft_fields


def draft_quote(tenant: Tenant, **overrides: Any) -> Quote:
    return services.create_quote(tenant=tenant, **draft_fields(**overrides))


def sent_quote(tenant: Tenant, **overrides: Any) -> Quote:
    quote = draft_quote(tenant, **overrides)
    return services.change_quote_status(tenant=tenant, quote_id=quote.pk, status=Quote.Status.SENT)


def accepted_quote(tenant: Tenant, **overrides: Any) -> Quote:
    quote = sent_quote(tenant, **overrides)
    return services.change_quote_status(tenant=tenant, quote_id=quote.pk, status=Quote.Status.ACCEPTED)
