"""A provider's events for a business whose integration is switched off are stored, not run,
as for a suspended business, and run once it is switched on again."""

from collections.abc import Iterator

import pytest
from django.db import connection

from shared_apps.flags import services as flags
from shared_apps.flags.catalogue import FLAG_OF_PROVIDER, SMS
from shared_apps.outbox.models import OutboxMessage
from shared_apps.webhooks import services
from shared_apps.webhooks.handlers import register_webhook_handler, unregister_webhook_handler, webhook_handler
from shared_apps.webhooks.models import WebhookEvent
from shared_apps.webhooks.twilio import PROVIDER, SENDER_KIND

NUMBER = "+15550007777"


@pytest.fixture
def twilio_calls() -> Iterator[list[tuple[str, str]]]:
    """Twilio's handler replaced by one that records (schema, dedupe key) per call."""
    calls: list[tuple[str, str]] = []
    previous = webhook_handler(PROVIDER)
    register_webhook_handler(PROVIDER, lambda event: calls.append((connection.schema_name, event.dedupe_key)))
    yield calls
    unregister_webhook_handler(PROVIDER)
    if previous is not None:
        register_webhook_handler(PROVIDER, previous)


def arrive(dedupe_key: str) -> WebhookEvent:
    return services.record_webhook_event(
        provider=PROVIDER,
        dedupe_key=dedupe_key,
        route_candidates=[(SENDER_KIND, NUMBER)],
        body=b"Body=hi",
        content_type="application/x-www-form-urlencoded",
    ).event


def test_the_flag_of_each_provider_is_declared():
    assert FLAG_OF_PROVIDER == {"twilio": "sms", "vapi": "voice", "stripe": "card_payments"}


def test_events_of_a_switched_off_integration_are_held_and_run_once_it_is_on(tenant_a, twilio_calls):
    services.claim_provider_route(tenant_id=tenant_a.tenant.pk, provider=PROVIDER, kind=SENDER_KIND, external_id=NUMBER)
    flags.set_tenant_flag(tenant_id=tenant_a.tenant.pk, name=SMS, enabled=False)
    event = arrive("SM-held-1")

    services.process_webhook_event(event_id=event.pk)
    event.refresh_from_db()
    held = (event.status, event.last_error)

    flags.set_tenant_flag(tenant_id=tenant_a.tenant.pk, name=SMS, enabled=True)
    queued = services.release_held_webhook_events(tenant_id=tenant_a.tenant.pk)
    services.process_webhook_event(event_id=event.pk)
    event.refresh_from_db()

    assert held == (
        WebhookEvent.Status.RECEIVED,
        "The sms integration is switched off for this business; stored, not run.",
    )
    assert queued == 1
    assert twilio_calls == [(tenant_a.tenant.schema_name, "SM-held-1")]
    assert event.status == WebhookEvent.Status.PROCESSED


def test_a_rollout_change_releases_the_events_held_for_every_business(tenant_a, tenant_b, twilio_calls):
    services.claim_provider_route(tenant_id=tenant_a.tenant.pk, provider=PROVIDER, kind=SENDER_KIND, external_id=NUMBER)
    flags.set_rollout(name=SMS, percent=0)
    event = arrive("SM-held-2")
    services.process_webhook_event(event_id=event.pk)
    OutboxMessage.objects.filter(actor_name="process_webhook_event").delete()

    flags.set_rollout(name=SMS, percent=100)
    released = services.release_all_held_webhook_events()

    assert OutboxMessage.objects.filter(actor_name="release_all_held_webhook_events").exists()
    assert released == 1
    assert [m.kwargs for m in OutboxMessage.objects.filter(actor_name="process_webhook_event")] == [
        {"event_id": event.pk}
    ]
    assert twilio_calls == []
