"""Customer links: made and revoked by staff, opened by customers. `open_customer_link` is
the one door of every customer-facing page and route: it answers the customer a token names
on this business's host, or refuses."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from shared_apps.errors import Conflict, Gone, NotFound, ValidationFailed
from shared_apps.events.actors import acting_as, customer_actor
from shared_apps.events.services import emit
from shared_apps.tenants.models import Tenant
from tenant_apps.customers import queries as customer_queries
from tenant_apps.customers.models import Customer
from tenant_apps.notifications.customer_links import email_customer_link, text_customer_link
from tenant_apps.payments.pay_links import business_base_url
from tenant_apps.portal import queries, tokens
from tenant_apps.portal.models import CustomerLink

PORTAL_PATH = "/c/"
MAX_LINK_DAYS = 365
# How often a link's last use is written: a customer reading several pages costs one write.
LAST_USED_GRANULARITY = timedelta(minutes=5)
Channel = CustomerLink.Channel


@dataclass(frozen=True)
class IssuedLink:
    """A new link with the only copy of its token."""

    link: CustomerLink
    token: str
    url: str


@dataclass(frozen=True)
class PortalVisit:
    """Who a customer-facing request is for: the business (the host's), the customer, the
    link that opened it and the token it was opened with (in memory only: pages link on with it)."""

    tenant: Tenant
    customer: Customer
    link: CustomerLink
    token: str

    @property
    def actor(self) -> str:
        return customer_actor(self.customer.pk)


def portal_url(*, tenant: Tenant, token: str) -> str:
    """The hub's address on the business's own host."""
    return f"{business_base_url(tenant=tenant)}{PORTAL_PATH}{token}"


def _link_payload(link: CustomerLink) -> dict[str, Any]:
    return {
        "link_id": link.pk,
        "customer_id": link.customer_id,
        "sent_via": link.sent_via,
        "expires_at": link.expires_at,
    }


def create_customer_link(
    *,
    tenant: Tenant,
    customer_id: int,
    send_via: str = Channel.NONE,
    expires_in_days: int | None = None,
    created_by: int | None = None,
    now: datetime | None = None,
) -> IssuedLink:
    """A new link to the customer's hub, valid `expires_in_days` (PORTAL_LINK_DAYS by
    default, at most MAX_LINK_DAYS), sent by text or email when `send_via` says so. Earlier
    links keep working until they expire or are revoked. An archived customer gets none (409)."""
    now = now or timezone.now()
    days = settings.PORTAL_LINK_DAYS if expires_in_days is None else expires_in_days
    if not 1 <= days <= MAX_LINK_DAYS:
        message = f"Between 1 and {MAX_LINK_DAYS} days."
        raise ValidationFailed(message, details=[{"field": "expires_in_days", "message": message}])
    if send_via not in Channel.values:
        message = f"One of {', '.join(Channel.values)}."
        raise ValidationFailed(message, details=[{"field": "send_via", "message": message}])
    token = tokens.new_token(schema_name=tenant.schema_name)
    url = portal_url(tenant=tenant, token=token)
    with transaction.atomic():
        customer = customer_queries.get_customer_for_update(customer_id=customer_id)
        if customer.archived_at is not None:
            raise Conflict("The customer is archived.", code="customer_archived")
        link = CustomerLink.objects.create(
            customer=customer,
            token_hash=tokens.hash_token(token),
            sent_via=send_via,
            expires_at=now + timedelta(days=days),
            created_by=created_by,
        )
        if send_via == Channel.SMS:
            text_customer_link(tenant=tenant, customer=customer, url=url, expires_at=link.expires_at)
        elif send_via == Channel.EMAIL:
            email_customer_link(tenant=tenant, customer=customer, url=url, expires_at=link.expires_at)
        emit("customer_link.created", now=now, **_link_payload(link))
    return IssuedLink(link=link, token=token, url=url)


def revoke_customer_link(*, link_id: int, now: datetime | None = None) -> CustomerLink:
    """Stop a link working at once; revoking a revoked link changes nothing."""
    now = now or timezone.now()
    with transaction.atomic():
        link = CustomerLink.objects.select_for_update().filter(pk=link_id).first()
        if link is None:
            raise NotFound("Customer link not found.")
        if link.revoked_at is None:
            link.revoked_at = now
            link.save(update_fields=["revoked_at"])
            emit("customer_link.revoked", now=now, **_link_payload(link))
    return link


def open_customer_link(*, tenant: Tenant | None, token: str, now: datetime | None = None) -> PortalVisit:
    """The customer `token` names on this business's host (`tenant`, the current schema).
    404 for a token this business did not make (forged, edited, another business's, or on the
    API host); 410 for a revoked or expired link, or one of a customer since archived. The
    first use of a link emits `customer_link.opened`."""
    now = now or timezone.now()
    if tenant is None or not tenant.is_active or not tokens.is_signed_for(token=token, schema_name=tenant.schema_name):
        raise NotFound("Link not found.", code="link_not_found")
    link = queries.get_link_by_token_hash(token_hash=tokens.hash_token(token))
    if link is None:
        raise NotFound("Link not found.", code="link_not_found")
    if link.revoked_at is not None or link.customer.archived_at is not None:
        raise Gone("This link was withdrawn by the business.", code="link_revoked")
    if link.expires_at <= now:
        raise Gone("This link has expired.", code="link_expired")
    visit = PortalVisit(tenant=tenant, customer=link.customer, link=link, token=token)
    if link.last_used_at is None or link.last_used_at <= now - LAST_USED_GRANULARITY:
        with transaction.atomic():
            # Of two first requests at once, one finds the column still empty.
            if CustomerLink.objects.filter(pk=link.pk, last_used_at__isnull=True).update(last_used_at=now):
                with acting_as(visit.actor):
                    emit("customer_link.opened", now=now, **_link_payload(link))
            else:
                CustomerLink.objects.filter(pk=link.pk).update(last_used_at=now)
        link.last_used_at = now
    return visit
