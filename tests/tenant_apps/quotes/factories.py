"""Quotes for tests, made through the services so their stored totals are the real ones.
Call inside `with tenant.schema():`."""

from datetime import UTC, datetime
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


def rejected_quote(tenant: Tenant, **overrides: Any) -> Quote:
    quote = sent_quote(tenant, **overrides)
    return services.change_quote_status(tenant=tenant, quote_id=quote.pk, status=Quote.Status.REJECTED)


def expired_quote(tenant: Tenant, **overrides: Any) -> Quote:
    quote = sent_quote(tenant, **overrides)
    services.expire_quotes(tenant=tenant, now=datetime(2999, 1, 1, tzinfo=UTC))
    quote.refresh_from_db()
    return quote


# A quote in each status, made the way it gets there.
QUOTE_IN = {
    Quote.Status.DRAFT: draft_quote,
    Quote.Status.SENT: sent_quote,
    Quote.Status.ACCEPTED: accepted_quote,
    Quote.Status.REJECTED: rejected_quote,
    Quote.Status.EXPIRED: expired_quote,
}
