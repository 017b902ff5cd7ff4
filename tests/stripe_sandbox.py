"""The Stripe sandbox (devtools/stripe_sandbox.py) for tests: served on a free port in a thread,
with the real `stripe` SDK pointed at it; its events are kept, and tests deliver them to our
webhook signed with Stripe's real algorithm, when and as often as they choose."""

import copy
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
import requests
import stripe
from django.conf import settings
from django.test import Client, override_settings

from devtools.stripe_sandbox import StripeSandbox, serve
from shared_apps.webhooks.models import WebhookEvent
from shared_apps.webhooks.services import process_webhook_event
from tenant_apps.payments import connect as stripe_connect
from tests.servers import serving_in_thread

if TYPE_CHECKING:
    from tests.conftest import TestTenant

WEBHOOK_PATH = "/api/v1/payments/webhook"
# Objects as Stripe's API reference shows them, from Stripe's published fixtures (see _source).
STRIPE_OBJECTS = json.loads((Path(__file__).parent / "fixtures" / "stripe_objects.json").read_text())["objects"]
_serving: list[StripeSandbox] = []


@pytest.fixture
def stripe_sandbox() -> Iterator[StripeSandbox]:
    sandbox = StripeSandbox(base_url="http://127.0.0.1")
    sandbox.webhook_secret = settings.STRIPE_CONNECT_WEBHOOK_SECRET
    sandbox.deliver_events = False
    with serving_in_thread(serve(0, sandbox=sandbox)) as url:
        sandbox.base_url = url
        with override_settings(STRIPE_SECRET_KEY="", STRIPE_SANDBOX_URL=url):
            _serving.append(sandbox)
            try:
                yield sandbox
            finally:
                _serving.remove(sandbox)


def connect(test_tenant: "TestTenant", *, onboard: bool = True) -> str:
    """Connect the tenant's Stripe account in the sandbox; its id. With `onboard`, the owner
    follows the onboarding link and Stripe's `account.updated` is delivered (charges enabled)."""
    with test_tenant.schema():
        url = stripe_connect.connect_stripe_account(
            tenant=test_tenant.tenant, return_url="http://x", refresh_url="http://x"
        )
        account = stripe_connect.connected_account()
    assert account is not None
    if onboard:
        assert requests.get(url, allow_redirects=False, timeout=10).status_code == 303
        [sandbox] = _serving
        deliver([event for event in events_of(sandbox, "account.updated") if event["account"] == account.account_id])
    return account.account_id


def stripe_object(kind: str, **fields: Any) -> dict[str, Any]:
    """A whole `kind` object as Stripe's API reference shows it, with `fields` replaced."""
    obj = copy.deepcopy(STRIPE_OBJECTS[kind])
    obj.update(fields)
    return obj


def stripe_event(event_type: str, obj: dict[str, Any], *, account: str) -> dict[str, Any]:
    """A whole Connect event (Stripe's fixture envelope, `account` set) carrying `obj`."""
    return stripe_object(
        "event",
        id=f"evt_{secrets.token_hex(12)}",
        type=event_type,
        account=account,
        api_version=stripe.api_version,
        data={"object": obj, "previous_attributes": None},
    )


def signature(payload: str, *, secret: str | None = None, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        payload, secret or settings.STRIPE_CONNECT_WEBHOOK_SECRET, timestamp=timestamp
    )


def post_event(event: dict[str, Any] | str, *, sig: str | None = "sign", **sign_options: Any):
    """POST one event to our webhook on the API host, signed unless `sig` says otherwise."""
    payload = event if isinstance(event, str) else json.dumps(event)
    extra = {"HTTP_HOST": settings.BASE_DOMAIN}
    if sig == "sign":
        extra["HTTP_STRIPE_SIGNATURE"] = signature(payload, **sign_options)
    elif sig is not None:
        extra["HTTP_STRIPE_SIGNATURE"] = sig
    return Client(raise_request_exception=False).post(
        WEBHOOK_PATH, data=payload, content_type="application/json", **extra
    )


def deliver(events: list[dict[str, Any]]) -> list[WebhookEvent]:
    """Deliver each event, then run the stored events' processing (the job's work)."""
    for event in events:
        assert post_event(event).status_code == 200
    stored = [WebhookEvent.objects.get(provider="stripe", dedupe_key=event["id"]) for event in events]
    for row in stored:
        process_webhook_event(event_id=row.pk)
    return [WebhookEvent.objects.get(pk=row.pk) for row in stored]


def follow_link(url: str, *, host: str | None = None):
    """GET a customer-facing link (pay link, Checkout's way back) as a browser would, on the
    link's own host unless `host` says otherwise."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return Client(raise_request_exception=False).get(path, HTTP_HOST=host or parts.netloc)


def events_of(sandbox: StripeSandbox, *types: str) -> list[dict[str, Any]]:
    return [event for event in sandbox.events if event["type"] in types]
