import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from dramatiq import Worker

from shared_apps.errors import Conflict
from shared_apps.outbox.models import OutboxMessage
from shared_apps.tenants import services as tenant_services
from shared_apps.webhooks import services
from shared_apps.webhooks.handlers import register_webhook_handler
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent
from tasks import actors
from tasks.broker import broker
from tasks.outbox import relay_outbox
from tests.concurrency import run_at_once
from tests.shared_apps.webhooks.conftest import TEST_PROVIDER


def claim(tenant, external_id: str, kind: str = "number") -> ProviderRoute:
    return services.claim_provider_route(
        tenant_id=tenant.tenant.pk, provider=TEST_PROVIDER, kind=kind, external_id=external_id
    )


def record(dedupe_key: str, *candidates: tuple[str, str]) -> services.RecordedEvent:
    return services.record_webhook_event(
        provider=TEST_PROVIDER,
        dedupe_key=dedupe_key,
        route_candidates=list(candidates),
        body=b"a=1&b=2",
        content_type="application/x-www-form-urlencoded",
    )


def jobs_for(event: WebhookEvent) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(actor_name="process_webhook_event", kwargs__event_id=event.pk))


# Routes


def test_an_identifier_claimed_by_one_tenant_is_refused_to_another(tenant_a, tenant_b):
    first = claim(tenant_a, "+15550001111")
    again = claim(tenant_a, "+15550001111")

    with pytest.raises(Conflict) as refused:
        claim(tenant_b, "+15550001111")

    assert again.pk == first.pk
    assert refused.value.code == "provider_id_taken"
    assert ProviderRoute.objects.get(external_id="+15550001111").tenant_id == tenant_a.tenant.pk


def test_replacing_a_route_releases_the_old_identifier(tenant_a, tenant_b):
    claim(tenant_a, "+15550001111")

    services.replace_provider_route(
        tenant_id=tenant_a.tenant.pk, provider=TEST_PROVIDER, kind="number", external_id="+15550002222"
    )
    taken_by_b = claim(tenant_b, "+15550001111")

    assert taken_by_b.tenant_id == tenant_b.tenant.pk
    assert list(
        ProviderRoute.objects.filter(tenant_id=tenant_a.tenant.pk, provider=TEST_PROVIDER).values_list(
            "external_id", flat=True
        )
    ) == ["+15550002222"]


def test_a_blank_identifier_releases_every_route_of_its_kind(tenant_a):
    claim(tenant_a, "+15550001111")

    released = services.replace_provider_route(
        tenant_id=tenant_a.tenant.pk, provider=TEST_PROVIDER, kind="number", external_id=""
    )

    assert released is None
    assert not ProviderRoute.objects.filter(tenant_id=tenant_a.tenant.pk, provider=TEST_PROVIDER).exists()


# Recording


def test_a_routed_event_is_stored_once_with_one_job_in_its_tenants_schema(tenant_a):
    claim(tenant_a, "+15550001111")

    first = record("evt-1", ("number", "+15550001111"))
    repeats = [record("evt-1", ("number", "+15550001111")) for _ in range(4)]

    assert first.created
    assert not any(repeat.created for repeat in repeats)
    assert {repeat.event.pk for repeat in repeats} == {first.event.pk}
    assert WebhookEvent.objects.filter(provider=TEST_PROVIDER, dedupe_key="evt-1").count() == 1
    assert first.event.status == WebhookEvent.Status.RECEIVED
    assert first.event.tenant_id == tenant_a.tenant.pk
    assert bytes(first.event.body) == b"a=1&b=2"
    assert [job.schema_name for job in jobs_for(first.event)] == [tenant_a.tenant.schema_name]


def test_the_first_candidate_with_an_owner_decides(tenant_a, tenant_b):
    claim(tenant_a, "SM-message-of-a", kind="message")
    claim(tenant_b, "+15550002222")

    recorded = record("evt-2", ("message", "SM-message-of-a"), ("number", "+15550002222"))

    assert recorded.event.tenant_id == tenant_a.tenant.pk


def test_an_event_nobody_owns_is_stored_unrouted_without_a_job(db):
    recorded = record("evt-3", ("number", "+15559990000"))

    assert recorded.created
    assert recorded.event.status == WebhookEvent.Status.UNROUTED
    assert recorded.event.tenant_id is None
    assert jobs_for(recorded.event) == []


# Processing


def test_processing_runs_the_handler_once_in_the_owners_schema(tenant_a, recording_handler):
    claim(tenant_a, "+15550001111")
    event = record("evt-4", ("number", "+15550001111")).event

    services.process_webhook_event(event_id=event.pk)
    services.process_webhook_event(event_id=event.pk)  # a re-delivered job

    event.refresh_from_db()
    assert recording_handler == [(tenant_a.tenant.schema_name, "evt-4")]
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.processed_at is not None
    assert event.attempts == 1
    assert connection.schema_name == "public"


def test_a_suspended_tenants_event_is_stored_not_run(tenant_a, recording_handler):
    claim(tenant_a, "+15550001111")
    event = record("evt-5", ("number", "+15550001111")).event
    tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status="suspended")

    services.process_webhook_event(event_id=event.pk)

    event.refresh_from_db()
    assert recording_handler == []
    assert event.status == WebhookEvent.Status.RECEIVED
    assert "suspended" in event.last_error


def test_a_failing_handler_marks_the_event_failed_and_raises(tenant_a, recording_handler):
    def broken(event: WebhookEvent) -> None:
        raise ValueError("cannot parse")

    register_webhook_handler(TEST_PROVIDER, broken)
    claim(tenant_a, "+15550001111")
    event = record("evt-6", ("number", "+15550001111")).event

    with pytest.raises(ValueError, match="cannot parse"):
        services.process_webhook_event(event_id=event.pk)

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED
    assert event.attempts == 1
    assert event.last_error == "ValueError: cannot parse"


def test_an_event_of_a_provider_without_handler_fails_visibly(tenant_a):
    services.claim_provider_route(
        tenant_id=tenant_a.tenant.pk, provider="nohandler", kind="number", external_id="+15550001111"
    )
    event = services.record_webhook_event(
        provider="nohandler", dedupe_key="x", route_candidates=[("number", "+15550001111")], body=b"", content_type=""
    ).event

    with pytest.raises(LookupError):
        services.process_webhook_event(event_id=event.pk)

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.FAILED


# Replay


def test_replay_routes_an_unrouted_event_claimed_since_and_processes_it(tenant_a, recording_handler):
    event = record("evt-7", ("number", "+15550003333")).event
    claim(tenant_a, "+15550003333")

    call_command("replay_webhook_event", str(event.pk))

    event.refresh_from_db()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert event.tenant_id == tenant_a.tenant.pk
    assert recording_handler == [(tenant_a.tenant.schema_name, "evt-7")]


def test_replay_of_an_event_still_unowned_leaves_it_unrouted(db, recording_handler):
    event = record("evt-8", ("number", "+15550004444")).event

    replayed = services.replay_webhook_event(event_id=event.pk)

    assert replayed.status == WebhookEvent.Status.UNROUTED
    assert recording_handler == []


def test_replay_runs_a_processed_event_again(tenant_a, recording_handler):
    claim(tenant_a, "+15550001111")
    event = record("evt-9", ("number", "+15550001111")).event
    services.process_webhook_event(event_id=event.pk)

    services.replay_webhook_event(event_id=event.pk)

    assert len(recording_handler) == 2


def test_replay_of_an_unknown_event_is_a_command_error(db):
    with pytest.raises(CommandError, match="not found"):
        call_command("replay_webhook_event", "999999999")


# Committed rows, real connections


@pytest.mark.concurrency
def test_concurrent_duplicates_store_one_row_and_one_job(committed_tenant):
    claim(committed_tenant, "+15550005555")
    racers = 5

    results = run_at_once([lambda: record("evt-race", ("number", "+15550005555")).created] * racers)

    events = list(WebhookEvent.objects.filter(provider=TEST_PROVIDER, dedupe_key="evt-race"))
    jobs = [job for event in events for job in jobs_for(event)]
    OutboxMessage.objects.filter(pk__in=[job.pk for job in jobs]).delete()
    assert sorted(results) == [False] * (racers - 1) + [True]
    assert len(events) == 1
    assert len(jobs) == 1


@pytest.mark.concurrency
def test_the_relayed_job_processes_the_event_in_a_worker(committed_tenant, recording_handler):
    claim(committed_tenant, "+15550006666")
    OutboxMessage.objects.filter(published_at__isnull=True).delete()
    event = record("evt-worker", ("number", "+15550006666")).event
    broker.flush_all()
    worker = Worker(broker, worker_timeout=100, worker_threads=1)
    worker.start()
    try:
        relay_outbox()
        broker.join(actors.process_webhook_event.queue_name, timeout=10_000)
        worker.join()
    finally:
        worker.stop()

    event.refresh_from_db()
    OutboxMessage.objects.filter(actor_name="process_webhook_event", kwargs__event_id=event.pk).delete()
    assert event.status == WebhookEvent.Status.PROCESSED
    assert recording_handler == [(committed_tenant.tenant.schema_name, "evt-worker")]


# Events that arrive before their route


def claim_and_release(tenant, external_id: str, kind: str = "number") -> int:
    return services.claim_route_and_release_held_events(
        tenant=tenant.tenant, provider=TEST_PROVIDER, kind=kind, external_id=external_id
    )


def test_claiming_a_route_releases_only_the_events_held_for_it(tenant_a):
    held = record("evt-early", ("number", "+15550003333")).event
    other_id = record("evt-other", ("number", "+15550004444")).event
    other_kind = record("evt-kind", ("assistant", "+15550003333")).event

    released = claim_and_release(tenant_a, "+15550003333")

    assert released == 1
    held.refresh_from_db()
    assert (held.tenant_id, held.status) == (tenant_a.tenant.pk, WebhookEvent.Status.RECEIVED)
    assert len(jobs_for(held)) == 1
    for untouched in (other_id, other_kind):
        untouched.refresh_from_db()
        assert (untouched.tenant_id, untouched.status) == (None, WebhookEvent.Status.UNROUTED)
        assert jobs_for(untouched) == []


def test_an_event_stored_while_its_route_is_claimed_is_routed_whichever_commits_first(committed_tenant):
    rounds = [f"+1555100{index:04d}" for index in range(20)]

    for external_id in rounds:
        run_at_once(
            [
                lambda external_id=external_id: record(f"evt-race-{external_id}", ("number", external_id)),
                lambda external_id=external_id: claim_and_release(committed_tenant, external_id),
            ]
        )

    events = list(WebhookEvent.objects.filter(provider=TEST_PROVIDER, dedupe_key__startswith="evt-race-"))
    WebhookEvent.objects.filter(pk__in=[event.pk for event in events], tenant__isnull=True).delete()  # committed
    assert sorted((event.tenant_id, event.status) for event in events) == [
        (committed_tenant.tenant.pk, WebhookEvent.Status.RECEIVED)
    ] * len(rounds)
    assert all(len(jobs_for(event)) == 1 for event in events)
