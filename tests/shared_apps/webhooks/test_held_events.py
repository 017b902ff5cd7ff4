"""Events stored while a business is suspended are held, and all of them are processed once
it is reactivated, also when they arrive at the moment it is reactivated (real parallel
connections, committed rows, jobs run by a worker)."""

from collections.abc import Iterator

import pytest
from dramatiq import Worker

from shared_apps.outbox.models import OutboxMessage
from shared_apps.tenants import services as tenant_services
from shared_apps.webhooks import services
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent
from tasks import actors  # noqa: F401 - registers the actors the jobs name
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tests.concurrency import JOIN_TIMEOUT, run_at_once
from tests.shared_apps.webhooks.conftest import TEST_PROVIDER

NUMBER = "+15550009999"
ARRIVALS = 8


@pytest.fixture
def suspended(committed_tenant, recording_handler) -> Iterator:
    """A committed tenant owning NUMBER, suspended; its events and jobs are removed after."""
    services.claim_provider_route(
        tenant_id=committed_tenant.tenant.pk, provider=TEST_PROVIDER, kind="number", external_id=NUMBER
    )
    tenant_services.set_tenant_status(tenant_id=committed_tenant.tenant.pk, status="suspended")
    OutboxMessage.objects.all().delete()
    broker.flush_all()
    yield committed_tenant
    broker.flush_all()
    OutboxMessage.objects.all().delete()
    WebhookEvent.objects.filter(provider=TEST_PROVIDER).delete()
    ProviderRoute.objects.filter(provider=TEST_PROVIDER).delete()


def arrive(key: str):
    return lambda: services.record_webhook_event(
        provider=TEST_PROVIDER,
        dedupe_key=key,
        route_candidates=[("number", NUMBER)],
        body=b"a=1",
        content_type="application/x-www-form-urlencoded",
    )


def run_jobs() -> None:
    """Relay and run jobs until the outbox has nothing due (jobs may queue more jobs)."""
    worker = Worker(broker, worker_timeout=100, worker_threads=2)
    worker.start()
    try:
        for _ in range(10):
            if relay_outbox() == 0:
                break
            broker.join("default", fail_fast=False, timeout=JOIN_TIMEOUT * 1000)
            worker.join()
    finally:
        worker.stop()


def test_events_held_while_suspended_are_processed_after_reactivation(suspended, recording_handler):
    before = [arrive(f"held-{n}")() for n in range(3)]
    run_jobs()  # their jobs run while the business is suspended: held
    assert set(WebhookEvent.objects.filter(provider=TEST_PROVIDER).values_list("status", flat=True)) == {"received"}

    tenant_services.set_tenant_status(tenant_id=suspended.tenant.pk, status="active")
    run_jobs()

    statuses = dict(WebhookEvent.objects.filter(provider=TEST_PROVIDER).values_list("dedupe_key", "status"))
    assert statuses == {recorded.event.dedupe_key: "processed" for recorded in before}
    assert sorted(key for _, key in recording_handler) == sorted(statuses)


def test_events_arriving_while_the_business_is_reactivated_are_all_processed_once(suspended, recording_handler):
    reactivate = lambda: tenant_services.set_tenant_status(tenant_id=suspended.tenant.pk, status="active")  # noqa: E731
    for n in range(ARRIVALS // 2):
        arrive(f"racing-{n}")()
    run_jobs()  # held
    racing = [arrive(f"racing-{n}") for n in range(ARRIVALS // 2, ARRIVALS)]

    run_at_once([*racing[:2], reactivate, *racing[2:], relay_outbox])
    run_jobs()

    statuses = dict(WebhookEvent.objects.filter(provider=TEST_PROVIDER).values_list("dedupe_key", "status"))
    assert statuses == {f"racing-{n}": "processed" for n in range(ARRIVALS)}
    assert sorted(key for _, key in recording_handler) == sorted(statuses)
