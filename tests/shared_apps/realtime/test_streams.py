"""Each business's event stream in Redis: publishing once per event, the retention window,
resuming, and the connection leases behind the socket limits."""

import asyncio
import json
import uuid

import pytest
import redis.asyncio
from django.conf import settings
from django.test import override_settings
from django.utils import timezone

from api.auth import manager, read_operation
from api.realtime import EVENT_READ_ROUTES, visible_event_types
from shared_apps.events.catalogue import EVENT_TYPES
from shared_apps.events.registry import subscribers_of
from shared_apps.events.services import DomainEvent
from shared_apps.realtime import streams
from shared_apps.redis_client import redis_client


def event(schema_name: str = "t_alpha", name: str = "Dana") -> DomainEvent:
    return DomainEvent(
        id=uuid.uuid4(),
        type="customer.created",
        version=1,
        tenant=schema_name,
        occurred_at=timezone.now(),
        actor="user:1",
        payload=EVENT_TYPES["customer.created"].payload.model_validate({"customer_id": 1, "name": name}),
    )


def entries(schema_name: str) -> list[dict]:
    return [json.loads(fields[b"event"]) for _, fields in redis_client().xrange(streams.stream_key(schema_name))]


def run(coroutine_function, *args, **kwargs):
    """A coroutine of the socket server's, on a fresh loop with its own client."""

    async def go():
        client = redis.asyncio.Redis.from_url(settings.REDIS_URL)
        try:
            return await coroutine_function(client, *args, **kwargs)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_every_event_type_is_published_by_the_realtime_subscriber():
    assert all(streams.SUBSCRIBER in subscribers_of(name) for name in EVENT_TYPES)


def test_an_event_is_published_once_however_often_it_is_delivered():
    published = event()

    first = streams.publish_event(published)
    again = streams.publish_event(published)

    assert first == again
    [entry] = entries("t_alpha")
    assert entry["id"] == str(published.id) and "tenant" not in entry
    assert entry["payload"] == {"customer_id": 1, "name": "Dana"}


def test_each_business_has_its_own_stream_in_order():
    ids = [streams.publish_event(event(schema, f"{schema} {n}")) for n in range(3) for schema in ("t_alpha", "t_bravo")]

    assert [entry["payload"]["name"] for entry in entries("t_alpha")] == ["t_alpha 0", "t_alpha 1", "t_alpha 2"]
    assert [entry["payload"]["name"] for entry in entries("t_bravo")] == ["t_bravo 0", "t_bravo 1", "t_bravo 2"]
    assert ids == sorted(ids, key=streams.sequence_key)


def test_the_stream_keeps_a_bounded_length_and_resumes_only_within_it():
    with override_settings(REALTIME_MAX_STREAM_LENGTH=1):
        ids = [streams.publish_event(event()) for _ in range(250)]
    kept = len(entries("t_alpha"))

    assert kept < 250
    assert run(streams.can_resume, schema_name="t_alpha", last_id=ids[-kept]) is True
    assert run(streams.can_resume, schema_name="t_alpha", last_id=ids[0]) is False
    assert run(streams.can_resume, schema_name="t_alpha", last_id=streams.ORIGIN) is False


def test_nothing_trimmed_resumes_from_the_origin_but_not_from_the_future_or_nowhere():
    newest = streams.publish_event(event())
    milliseconds, _ = streams.sequence_key(newest)

    assert run(streams.can_resume, schema_name="t_alpha", last_id=streams.ORIGIN) is True
    assert run(streams.can_resume, schema_name="t_alpha", last_id=f"{milliseconds + 1}-0") is False
    assert run(streams.can_resume, schema_name="t_alpha", last_id="garbage") is False
    assert run(streams.can_resume, schema_name="t_nobody", last_id=streams.ORIGIN) is False


def test_events_older_than_the_retention_window_are_trimmed():
    with override_settings(REALTIME_RETENTION_SECONDS=0):
        for _ in range(250):
            streams.publish_event(event())

    assert len(entries("t_alpha")) < 250


def test_reading_after_a_position_and_the_tail():
    ids = [streams.publish_event(event(name=f"n{n}")) for n in range(3)]

    assert run(streams.tail, schema_name="t_alpha") == ids[-1]
    assert run(streams.tail, schema_name="t_nobody") == streams.ORIGIN
    after_first = run(streams.read_after, schema_name="t_alpha", after=ids[0], count=10)
    assert [entry_id for entry_id, _ in after_first] == ids[1:]
    assert run(streams.read_new, positions={"t_alpha": ids[1], "t_bravo": streams.ORIGIN}, block_ms=10, count=10) == {
        "t_alpha": run(streams.read_after, schema_name="t_alpha", after=ids[1], count=10)
    }


@override_settings(REALTIME_MAX_CONNECTIONS_PER_TENANT=3, REALTIME_MAX_CONNECTIONS_PER_USER=2)
def test_connection_leases_hold_a_business_and_a_member_to_their_limits():
    async def scenario(client):
        take = streams.take_lease
        answers = [
            await take(client, schema_name="t_alpha", user_id=1, connection_id="a", ttl_ms=60_000),
            await take(client, schema_name="t_alpha", user_id=1, connection_id="b", ttl_ms=60_000),
            await take(client, schema_name="t_alpha", user_id=1, connection_id="c", ttl_ms=60_000),
            await take(client, schema_name="t_alpha", user_id=2, connection_id="d", ttl_ms=60_000),
            await take(client, schema_name="t_alpha", user_id=3, connection_id="e", ttl_ms=60_000),
            await take(client, schema_name="t_bravo", user_id=1, connection_id="f", ttl_ms=60_000),
            await take(client, schema_name="t_alpha", user_id=1, connection_id="a", ttl_ms=60_000),  # renewal
        ]
        await streams.release_lease(client, schema_name="t_alpha", user_id=2, connection_id="d")
        answers.append(await take(client, schema_name="t_alpha", user_id=3, connection_id="e", ttl_ms=60_000))
        return answers

    assert run(scenario) == [None, None, "user", None, "tenant", None, None, None]


@override_settings(REALTIME_MAX_CONNECTIONS_PER_USER=1)
def test_a_lease_not_renewed_lapses():
    async def scenario(client):
        await streams.take_lease(client, schema_name="t_alpha", user_id=1, connection_id="dead", ttl_ms=50)
        await asyncio.sleep(0.1)
        return await streams.take_lease(client, schema_name="t_alpha", user_id=1, connection_id="new", ttl_ms=50)

    assert run(scenario) is None


# Who sees what


def test_every_kind_of_event_has_the_read_route_that_decides_who_sees_it():
    assert {name.partition(".")[0] for name in EVENT_TYPES} <= set(EVENT_READ_ROUTES)


def test_staff_see_business_events_but_not_the_member_list_changes():
    staff = visible_event_types("staff")

    assert {"appointment.booked", "customer.created", "sms.received", "invoice.paid", "payment.received"} <= staff
    assert not {name for name in staff if name.startswith("member.")}
    # Staff read only their own time off, so no colleague's reaches them by the stream.
    assert not {name for name in staff if name.startswith("time_off.")}
    assert {name for name in staff if name.startswith(("closed_day.", "appointment_series."))}
    assert visible_event_types("owner") == frozenset(EVENT_TYPES)


@pytest.mark.parametrize("kind", ["invoice", "payment"])
def test_finance_events_follow_the_finance_read_routes(monkeypatch, kind):
    # Should invoices or payments ever be readable by managers only, their read route says so;
    # the socket follows.
    monkeypatch.setattr(read_operation(*EVENT_READ_ROUTES[kind]), "auth_callbacks", [manager])

    assert not {name for name in visible_event_types("staff") if name.startswith(f"{kind}.")}
    assert {name for name in visible_event_types("admin") if name.startswith(f"{kind}.")}
