"""Outbound webhooks: the business's endpoints, the event types they may choose, and each
endpoint's delivery log (owners and admins only)."""

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from ninja import Query, Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, InstantIn, PatchSchema, RowId, StorableSchema, StrictSchema, enum_of, example
from shared_apps.events.catalogue import catalogue
from tenant_apps.integrations import queries, services
from tenant_apps.integrations.models import WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])

EXAMPLE_ENDPOINT = {
    "url": "https://books.example.com/hooks/servicedesk",
    "description": "Accounting sync",
    "event_types": ["invoice.paid", "payment.received"],
    "enabled": True,
}
EventTypeName = Annotated[str, Field(min_length=1, max_length=100)]


class EventTypeOut(Schema):
    type: str
    version: int
    description: str
    payload: dict[str, Any] = Field(description="The JSON schema of the event's `data`.")


class EndpointOut(Schema):
    model_config = example(
        id=7,
        **EXAMPLE_ENDPOINT,
        disabled_at=None,
        disabled_reason="",
        failing_since=None,
        previous_secret_expires_at=None,
        version=1,
        created_at="2026-03-02T14:05:00Z",
        updated_at="2026-03-02T14:05:00Z",
    )

    id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_at: datetime | None
    disabled_reason: str
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation signs too."
    )
    version: int
    created_at: datetime
    updated_at: datetime


class EndpointWithSecretOut(EndpointOut):
    secret: str = Field(description="The signing secret (`whsec_...`); shown only in this answer.")


class EndpointIn(StrictSchema):
    model_config = example(**EXAMPLE_ENDPOINT)

    url: str = Field(min_length=1, max_length=2000)
    description: str = Field(default="", max_length=500)
    event_types: list[EventTypeName] = Field(min_length=1, max_length=services.MAX_EVENT_TYPES)
    enabled: bool = True


class EndpointPatch(PatchSchema):
    """`enabled: true` re-enables an endpoint disabled after failing."""

    url: str = Field(default=OMITTED, min_length=1, max_length=2000)
    description: str = Field(default=OMITTED, max_length=500)
    event_types: list[EventTypeName] = Field(default=OMITTED, min_length=1, max_length=services.MAX_EVENT_TYPES)
    enabled: bool = OMITTED
    version: int


class AttemptOut(Schema):
    attempted_at: datetime
    status_code: int | None
    latency_ms: int
    response_excerpt: str = Field(description="The start of the answer's body (at most 1,000 characters).")
    error: str
    succeeded: bool
    manual: bool


class DeliveryOut(Schema):
    id: int
    message_id: str = Field(description="The `webhook-id` header, the same on every attempt and re-send.")
    event_id: UUID
    event_type: str
    status: Annotated[str, enum_of(WebhookDelivery.Status)]
    attempt_count: int
    next_attempt_at: datetime | None
    last_error: str
    created_at: datetime
    succeeded_at: datetime | None
    attempts: list[AttemptOut] = Field(description="Newest first.")


class DeliveryPageOut(Schema):
    items: list[DeliveryOut]
    # Pass as `cursor` for the next page; null on the last page. There is no total count.
    next_cursor: str | None


class DeliveryParams(StorableSchema):
    limit: int = Field(default=50, ge=1, le=200, description="How many deliveries to answer at most.")
    cursor: str | None = Field(default=None, max_length=30, description="`next_cursor` of the previous page.")
    status: Annotated[str, enum_of(WebhookDelivery.Status)] | None = Field(
        default=None, max_length=10, description="Only deliveries in this state."
    )


class ResendIn(StrictSchema):
    since: InstantIn = Field(description="Every delivery made at or after this time is sent again.")


class ResendOut(Schema):
    count: int = Field(description="How many deliveries are queued to be sent again.")


def _with_secret(endpoint: WebhookEndpoint, secret: str) -> dict[str, Any]:
    return {**EndpointOut.from_orm(endpoint).model_dump(), "secret": secret}


@router.get("/event-types", response=list[EventTypeOut], auth=manager)
def list_event_types(request: ApiRequest):
    """Every event type an endpoint may choose, with the JSON schema of its `data`."""
    return catalogue()


@router.get("/endpoints", response=list[EndpointOut], auth=manager)
@paginate
def list_endpoints(request: ApiRequest):
    """The business's webhook endpoints, newest first."""
    return queries.list_endpoints()


@router.post("/endpoints", response={201: EndpointWithSecretOut}, auth=manager)
def create_endpoint(request: ApiRequest, payload: EndpointIn):
    """Add an endpoint. The answer holds its signing secret, shown this once. (No
    Idempotency-Key replay here: a replay would have to store the secret.)"""
    endpoint, secret = services.create_endpoint(**payload.model_dump())
    return 201, _with_secret(endpoint, secret)


@router.get("/endpoints/{endpoint_id}", response=EndpointOut, auth=manager)
def get_endpoint(request: ApiRequest, endpoint_id: RowId):
    """One endpoint (never its secret)."""
    return queries.get_endpoint(endpoint_id=endpoint_id)


@router.patch("/endpoints/{endpoint_id}", response=EndpointOut, auth=manager)
def update_endpoint(request: ApiRequest, endpoint_id: RowId, payload: EndpointPatch):
    """Change an endpoint; `version` must be the one you read (409 when stale)."""
    return services.update_endpoint(
        endpoint_id=endpoint_id, changes=payload.changes(exclude={"version"}), version=payload.version
    )


@router.delete("/endpoints/{endpoint_id}", response={204: None}, auth=manager)
def delete_endpoint(request: ApiRequest, endpoint_id: RowId):
    """Remove an endpoint and its delivery log."""
    services.delete_endpoint(endpoint_id=endpoint_id)
    return 204, None


@router.post("/endpoints/{endpoint_id}/rotate-secret", response=EndpointWithSecretOut, auth=manager)
def rotate_endpoint_secret(request: ApiRequest, endpoint_id: RowId):
    """A new signing secret, shown this once; the old one keeps signing beside it until
    `previous_secret_expires_at`."""
    endpoint, secret = services.rotate_endpoint_secret(endpoint_id=endpoint_id)
    return _with_secret(endpoint, secret)


@router.post("/endpoints/{endpoint_id}/test", response={202: DeliveryOut}, auth=manager)
@idempotent
def send_test_message(request: ApiRequest, endpoint_id: RowId):
    """Send a `webhook.test` message to the endpoint now (also when it is disabled)."""
    return 202, services.send_test_message(endpoint_id=endpoint_id)


@router.get("/endpoints/{endpoint_id}/deliveries", response=DeliveryPageOut, auth=manager)
def list_deliveries(request: ApiRequest, endpoint_id: RowId, params: Query[DeliveryParams]):
    """The endpoint's deliveries with their attempts, newest first, a keyset page at a time."""
    items, next_cursor = queries.deliveries_page(
        endpoint_id=endpoint_id, limit=params.limit, cursor=params.cursor, status=params.status
    )
    return {"items": items, "next_cursor": next_cursor}


@router.post("/endpoints/{endpoint_id}/deliveries/{delivery_id}/resend", response={202: DeliveryOut}, auth=manager)
def resend_delivery(request: ApiRequest, endpoint_id: RowId, delivery_id: RowId):
    """Send one delivery again now, with the same `webhook-id`."""
    return 202, services.resend_delivery(endpoint_id=endpoint_id, delivery_id=delivery_id)


@router.post("/endpoints/{endpoint_id}/resend", response={202: ResendOut}, auth=manager)
def resend_deliveries(request: ApiRequest, endpoint_id: RowId, payload: ResendIn):
    """Send again every delivery made since `since` (e.g. after an outage of the receiver)."""
    return 202, {"count": services.resend_deliveries_since(endpoint_id=endpoint_id, since=payload.since)}
