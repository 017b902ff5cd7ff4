"""Domain events: validated against the catalogue, written in the caller's transaction, and
delivered to each subscriber as its own job, once."""

import uuid

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context
from pydantic import ValidationError

from shared_apps.events import catalogue, registry
from shared_apps.events import services as events
from shared_apps.events.actors import SCHEDULER, acting_as
from shared_apps.events.models import EventDelivery
from shared_apps.outbox.models import OutboxMessage
from tests.events import deliver_events, emitted

handled: list[tuple[str, str, str]] = []


@pytest.fixture(autouse=True)
def _no_earlier_events(db):
    """Events emitted while the session's tenants were set up (their members joining) are
    not this module's business (deleted in the test's transaction only)."""
    OutboxMessage.objects.filter(actor_name__in=[events.DELIVER_ACTOR, events.SUBSCRIBER_ACTOR]).delete()


@pytest.fixture
def subscribers():
    """Two subscribers of customer.created: one records, one fails until told otherwise (the
    apps' own subscribers of it are set aside meanwhile)."""
    handled.clear()
    state = {"fail": True}
    apps_subscribers = registry.subscribers_of("customer.created")
    for name in apps_subscribers:
        registry.unsubscribe("customer.created", name)

    def record(event):
        handled.append(("recording", event.type, connection.schema_name))

    def fail(event):
        if state["fail"]:
            raise RuntimeError("subscriber is down")
        handled.append(("failing", event.type, connection.schema_name))

    registry.subscribe("customer.created", "test.recording", record)
    registry.subscribe("customer.created", "test.failing", fail)
    yield state
    registry.unsubscribe("customer.created", "test.recording")
    registry.unsubscribe("customer.created", "test.failing")
    for name, handler in apps_subscribers.items():
        registry.subscribe("customer.created", name, handler)


def test_the_catalogue_names_every_type_with_its_version_and_payload_schema():
    listed = {entry["type"]: entry for entry in catalogue.catalogue()}

    assert set(listed) == set(catalogue.EVENT_TYPES)
    assert {"invoice.paid", "appointment.booked", "member.removed", "call.ended"} <= set(listed)
    paid = listed["invoice.paid"]
    assert paid["version"] == 1
    assert set(paid["payload"]["required"]) >= {"invoice_id", "customer_id", "amount_due", "currency"}


def test_an_event_is_written_with_its_envelope_in_the_tenants_schema(tenant_a):
    with tenant_a.schema(), acting_as(SCHEDULER):
        event = events.emit("customer.created", customer_id=7, name="Dana")

    [stored] = emitted("customer.created")
    assert stored == event
    assert (stored.tenant, stored.actor, stored.version) == (tenant_a.tenant.schema_name, "scheduler", 1)
    assert stored.payload.model_dump() == {"customer_id": 7, "name": "Dana"}
    assert OutboxMessage.objects.get(actor_name=events.DELIVER_ACTOR).schema_name == tenant_a.tenant.schema_name


def test_a_payload_off_its_schema_or_an_unknown_type_is_refused(tenant_a):
    with tenant_a.schema():
        with pytest.raises(ValidationError):
            events.emit("customer.created", customer_id=7, name="Dana", phone="+12025550111")
        with pytest.raises(ValidationError):
            events.emit("customer.created", customer_id="seven", name="Dana")
        with pytest.raises(KeyError):
            events.emit("customer.exploded", customer_id=7)

    assert emitted() == []


def test_an_event_outside_a_tenant_is_refused(db):
    with schema_context("public"), pytest.raises(RuntimeError):
        events.emit("customer.created", customer_id=7, name="Dana")


def test_a_rolled_back_change_emits_nothing(tenant_a):
    with tenant_a.schema(), pytest.raises(RuntimeError), transaction.atomic():
        events.emit("customer.created", customer_id=7, name="Dana")
        raise RuntimeError("rolled back")

    assert emitted() == []


def test_each_subscriber_is_its_own_job_and_a_failing_one_holds_up_no_other(tenant_a, subscribers):
    with tenant_a.schema():
        event = events.emit("customer.created", customer_id=7, name="Dana")
    [delivery] = OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR)

    assert events.fan_out_event(**delivery.kwargs) == 2
    jobs = {job.kwargs["subscriber"]: job for job in OutboxMessage.objects.filter(actor_name=events.SUBSCRIBER_ACTOR)}
    assert set(jobs) == {"test.recording", "test.failing"}
    assert {job.schema_name for job in jobs.values()} == {tenant_a.tenant.schema_name}

    with tenant_a.schema():
        with pytest.raises(RuntimeError):
            events.run_subscriber(**jobs["test.failing"].kwargs)
        assert events.run_subscriber(**jobs["test.recording"].kwargs) is True

    assert handled == [("recording", "customer.created", tenant_a.tenant.schema_name)]
    assert list(EventDelivery.objects.values_list("subscriber", flat=True)) == ["test.recording"]

    subscribers["fail"] = False  # the retry of the failed job
    with tenant_a.schema():
        assert events.run_subscriber(**jobs["test.failing"].kwargs) is True
    assert handled[-1] == ("failing", "customer.created", tenant_a.tenant.schema_name)
    assert EventDelivery.objects.filter(event_id=event.id).count() == 2


def test_a_subscriber_handles_an_event_once_however_often_it_is_delivered(tenant_a, subscribers):
    subscribers["fail"] = False
    with tenant_a.schema():
        events.emit("customer.created", customer_id=7, name="Dana")
    [delivery] = OutboxMessage.objects.filter(actor_name=events.DELIVER_ACTOR)

    events.fan_out_event(**delivery.kwargs)
    events.fan_out_event(**delivery.kwargs)  # a re-published fan-out writes no second jobs
    jobs = list(OutboxMessage.objects.filter(actor_name=events.SUBSCRIBER_ACTOR))
    with tenant_a.schema():
        results = [events.run_subscriber(**job.kwargs) for job in jobs + jobs]

    assert len(jobs) == 2
    assert results == [True, True, False, False]
    assert sorted(name for name, _, _ in handled) == ["failing", "recording"]


def test_deliveries_of_two_tenants_run_each_in_its_own_schema(tenant_a, tenant_b, subscribers):
    subscribers["fail"] = False
    for test_tenant in (tenant_a, tenant_b):
        with test_tenant.schema():
            events.emit("customer.created", customer_id=1, name="Same id, other business")

    deliver_events()

    schemas = sorted(schema for name, _, schema in handled if name == "recording")
    assert schemas == sorted([tenant_a.tenant.schema_name, tenant_b.tenant.schema_name])


def test_subscribing_to_a_type_missing_from_the_catalogue_fails_at_once():
    with pytest.raises(KeyError):
        registry.subscribe("invoice.exploded", "test.nothing", lambda event: None)


def test_an_event_round_trips_through_its_message():
    event = events.DomainEvent(
        id=uuid.uuid4(),
        type="invoice.overdue",
        version=1,
        tenant="t",
        occurred_at="2026-01-15T20:00:00Z",
        actor="scheduler",
        payload=catalogue.InvoiceOverduePayload(
            invoice_id=1,
            customer_id=2,
            number="INV-1",
            version=1,
            currency="USD",
            total=1000,
            amount_due=1000,
            due_date="2026-01-10",
        ),
    )

    assert events.parse_event(event.as_message()) == event


def test_the_events_guide_lists_every_type_with_its_version():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[3] / "docs" / "events.md").read_text()
    for kind in catalogue.EVENT_TYPES.values():
        assert f"| `{kind.name}` | {kind.version} |" in guide, kind.name
