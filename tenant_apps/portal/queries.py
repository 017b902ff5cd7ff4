"""Reading customer links (the current tenant's schema)."""

from django.db.models import QuerySet

from tenant_apps.customers.history import HistoryEntry, HistoryWindow
from tenant_apps.portal.models import CustomerLink

LINK_TITLES: dict[str, str] = {
    CustomerLink.Channel.NONE: "Customer hub link made",
    CustomerLink.Channel.SMS: "Customer hub link texted",
    CustomerLink.Channel.EMAIL: "Customer hub link emailed",
}


def list_customer_links(*, customer_id: int | None = None) -> QuerySet[CustomerLink]:
    """Links newest first, optionally of one customer."""
    links = CustomerLink.objects.all()
    return links if customer_id is None else links.filter(customer_id=customer_id)


def get_link_by_token_hash(*, token_hash: str) -> CustomerLink | None:
    return CustomerLink.objects.select_related("customer").filter(token_hash=token_hash).first()


def portal_link_history(customer_id: int, window: HistoryWindow) -> list[HistoryEntry]:
    """The customer's links for their timeline (made, sent, revoked), in one query."""
    links = window.rows(CustomerLink.objects.filter(customer_id=customer_id), time_field="created_at")
    return [
        HistoryEntry(
            kind="portal_link",
            id=link.pk,
            occurred_at=link.created_at,
            title=LINK_TITLES[link.sent_via],
            status="revoked" if link.revoked_at else None,
            data={"expires_at": link.expires_at.isoformat(), "sent_via": link.sent_via},
        )
        for link in links
    ]
