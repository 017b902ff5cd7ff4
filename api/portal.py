"""Customer links (staff) and the customer's hub as JSON (public: the link's token is the
credential, on the business's own host), for front ends that draw their own pages. The same
services serve the server-rendered pages (api/portal_pages.py)."""

from datetime import date, datetime
from typing import Annotated

from django.utils import timezone
from ninja import Path, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from api.auth import ApiRequest, member
from api.schemas import RowId, StorableSchema, StrictSchema, enum_of, example
from shared_apps.events.actors import set_actor
from tenant_apps.appointments.models import Appointment
from tenant_apps.invoices.models import Invoice
from tenant_apps.portal import hub, queries, services
from tenant_apps.portal.models import CustomerLink
from tenant_apps.portal.services import PortalVisit
from tenant_apps.portal.theme import theme_of
from tenant_apps.quotes.models import Quote

router = Router(tags=["portal"])
public_router = Router(tags=["portal"])

# The token of a customer link, as the link's URL carries it (`/c/<token>`).
Token = Annotated[str, Path(description="The customer link's token (the last part of its URL).", max_length=64)]


class CustomerLinkIn(StrictSchema):
    model_config = example(customer_id=42, send_via="sms", expires_in_days=30)

    customer_id: RowId
    send_via: Annotated[str, enum_of(CustomerLink.Channel)] = Field(
        default=CustomerLink.Channel.NONE, description="Also send the link to the customer by text or email."
    )
    expires_in_days: int | None = Field(
        default=None, ge=1, le=services.MAX_LINK_DAYS, description="Days the link works; the business default if none."
    )


class CustomerLinkOut(Schema):
    id: int
    customer_id: int
    sent_via: Annotated[str, enum_of(CustomerLink.Channel)]
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: int | None
    created_at: datetime


class IssuedCustomerLinkOut(CustomerLinkOut):
    """The link's URL is shown once, here: only a digest of its token is kept."""

    url: str


class CustomerLinkFilters(StorableSchema):
    customer_id: RowId | None = Field(default=None, description="Only this customer's links.")


@router.post("", response={201: IssuedCustomerLinkOut}, auth=member)
def create_customer_link(request: ApiRequest, payload: CustomerLinkIn):
    """Make a link to a customer's hub (quotes, invoices, visits), optionally texting or
    mailing it to them; the answer carries the URL, which is never shown again."""
    issued = services.create_customer_link(
        tenant=request.auth.tenant,
        customer_id=payload.customer_id,
        send_via=payload.send_via,
        expires_in_days=payload.expires_in_days,
        created_by=request.auth.user_id,
    )
    return 201, IssuedCustomerLinkOut(**CustomerLinkOut.from_orm(issued.link).model_dump(), url=issued.url)


@router.get("", response=list[CustomerLinkOut], auth=member)
@paginate
def list_customer_links(request: ApiRequest, filters: Query[CustomerLinkFilters]):
    """Customer links, newest first (without their URLs, which are not kept)."""
    return queries.list_customer_links(customer_id=filters.customer_id)


@router.delete("/{link_id}", response={204: None}, auth=member)
def revoke_customer_link(request: ApiRequest, link_id: RowId):
    """Withdraw a link: it stops working at once (410 for the customer)."""
    services.revoke_customer_link(link_id=link_id)
    return 204, None


# Public: the customer's side.


def open_visit(request: ApiRequest, token: str) -> PortalVisit:
    """The link's customer on this host (404 / 410 otherwise); what the route does next is
    recorded as theirs."""
    visit = services.open_customer_link(tenant=request.tenant, token=token)
    set_actor(visit.actor)
    return visit


class BusinessOut(Schema):
    name: str
    brand_color: str = Field(description="#rrggbb")
    text_on_brand_color: str = Field(description="A readable text colour on brand_color (#rrggbb).")


class PortalCustomerOut(Schema):
    id: int
    name: str


class PortalVisitOut(Schema):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    status: Annotated[str, enum_of(Appointment.Status)]


class PortalQuoteSummaryOut(Schema):
    id: int
    number: str
    status: Annotated[str, enum_of(Quote.Status)]
    currency: str
    total: int
    valid_until: date


class PortalInvoiceSummaryOut(Schema):
    id: int
    number: str
    status: Annotated[str, enum_of(Invoice.Status)]
    currency: str
    total: int
    amount_due: int
    due_date: date


class PortalHubOut(Schema):
    business: BusinessOut
    customer: PortalCustomerOut
    link_expires_at: datetime
    upcoming_visits: list[PortalVisitOut]
    quotes_waiting: list[PortalQuoteSummaryOut]
    unpaid_invoices: list[PortalInvoiceSummaryOut]
    past_quotes: list[PortalQuoteSummaryOut]
    past_invoices: list[PortalInvoiceSummaryOut]


def business_out(visit: PortalVisit) -> BusinessOut:
    theme = theme_of(visit.tenant)
    return BusinessOut(name=theme.business_name, brand_color=theme.color, text_on_brand_color=theme.on_color)


@public_router.get("/{token}", response=PortalHubOut, auth=None)
def get_portal_hub(request: ApiRequest, token: Token):
    """The customer's hub: upcoming visits, quotes waiting for an answer, unpaid invoices and
    past documents. Public: the token is the credential, on the business's own host only."""
    visit = open_visit(request, token)
    found = hub.customer_hub(visit=visit, now=timezone.now())
    return {
        "business": business_out(visit),
        "customer": visit.customer,
        "link_expires_at": visit.link.expires_at,
        **vars(found),
    }
