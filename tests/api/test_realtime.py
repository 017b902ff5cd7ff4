"""Live updates against the running ASGI process (uvicorn, config.asgi) with a real WebSocket
client: what reaches a socket, who is refused or closed, resuming, slow clients, isolation.
Events are emitted by the real services in the test's transaction and published to the
business's Redis stream by the realtime subscriber (tests/events.py runs it as the worker
would); the server reads that stream."""

import base64
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from api.realtime import PROTOCOL, Close
from shared_apps.accounts import revocation
from shared_apps.accounts.tokens import decode_access_token, issue_access_token
from shared_apps.events.catalogue import EVENT_TYPES
from shared_apps.events.services import DomainEvent
from shared_apps.realtime import streams
from shared_apps.redis_client import redis_client
from shared_apps.tenants import services as tenant_services
from tests.api.asyncapi import assert_documented
from tests.events import deliver_events
from tests.outage_stack import closed_port
from tests.servers import asgi_server
from tests.tenant_apps.voice.conftest import next_business_day, voice_lines  # noqa: F401 - a fixture
from tests.tenant_apps.voice.payloads import message, post, results, tool_calls

SERVER_ENV = {
    "REALTIME_HEARTBEAT_SECONDS": "1",
    "REALTIME_SEND_QUEUE": "200",
    "REALTIME_MAX_CONNECTIONS_PER_USER": "3",
}


@pytest.fixture(scope="module")
def server(django_db_setup) -> Iterator[int]:
    with asgi_server(**SERVER_ENV) as port:
        yield port


@pytest.fixture(autouse=True)
def _nothing_pending(db) -> None:
    """Events the session's tenants were made with are delivered before any socket opens."""
    deliver_events()


@contextmanager
def socket_to(port: int, host: str, token: str | None, *, last_id: str | None = None) -> Iterator[ClientConnection]:
    """A client socket to `host` (connected to the loopback, so no DNS), the token in the
    protocol header (without one the caller sends it in its first message)."""
    query = f"?last_id={last_id}" if last_id else ""
    protocols = [PROTOCOL, f"bearer.{token}"] if token else [PROTOCOL]
    sock = socket.create_connection(("127.0.0.1", port))
    # The server's heartbeats are what these tests watch; the client sends no pings of its own.
    with connect(
        f"ws://{host}:{port}/ws/v1/events{query}",
        sock=sock,
        subprotocols=protocols,
        open_timeout=10,
        ping_interval=None,
    ) as ws:
        yield ws


@contextmanager
def staff_and_owner(port: int, tenant) -> Iterator[tuple[ClientConnection, ClientConnection]]:
    """A socket of the business's staff member and one of its owner, both signed in."""
    with (
        socket_to(port, tenant.host, tenant.staff_token) as staff,
        socket_to(port, tenant.host, tenant.owner_token) as owner,
    ):
        ready(staff)
        ready(owner)
        yield staff, owner


def receive(ws: ClientConnection, kind: str = "event", timeout: float = 10) -> dict[str, Any]:
    """The next message of `kind`, skipping heartbeats (and other kinds)."""
    deadline = time.monotonic() + timeout
    while True:
        found = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        assert_documented(found)
        if found["type"] == kind:
            return found


def receive_event(ws: ClientConnection, event_type: str) -> dict[str, Any]:
    """The next event of `event_type` (a booking by phone first adds the caller as a customer)."""
    while True:
        event = receive(ws)["event"]
        if event["type"] == event_type:
            return event


def ready(ws: ClientConnection) -> dict[str, Any]:
    first = json.loads(ws.recv(timeout=10))
    assert first["type"] == "ready", first
    assert_documented(first)
    return first


def close_code(ws: ClientConnection, timeout: float = 10) -> int:
    """Reads until the server closes; the code it closed with."""
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.recv(timeout=max(0.01, deadline - time.monotonic()))
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


def publish(tenant, event_type: str, **payload: Any) -> str:
    """An event of `tenant` straight into its stream, as the subscriber publishes it."""
    event = DomainEvent(
        id=uuid.uuid4(),
        type=event_type,
        version=1,
        tenant=tenant.tenant.schema_name,
        occurred_at=timezone.now(),
        actor="system",
        payload=EVENT_TYPES[event_type].payload.model_validate(payload),
    )
    return streams.publish_event(event)


def created(tenant, name: str) -> None:
    response = tenant.api().post("/customers", {"name": name})
    assert response.status_code == 201, response.content


# Events reach the socket


def test_an_appointment_booked_by_the_ai_receptionist_reaches_the_calendar(server, voice_lines, tenant_a):  # noqa: F811
    with socket_to(server, tenant_a.host, tenant_a.owner_token) as ws:
        ready(ws)
        post(message("assistant-request", call_id="call-live"))
        day = next_business_day(tenant_a.tenant.zone)
        booked = tool_calls(
            ("tool-1", "book_appointment", {"starts_at": f"{day}T09:00", "duration_minutes": 60}), call_id="call-live"
        )
        answer = results(post(booked))["tool-1"]
        deliver_events()

        event = receive_event(ws, "appointment.booked")

    assert answer["booked"] is True
    assert event["payload"]["appointment_id"] == answer["appointment_id"]
    assert "tenant" not in event


def test_the_token_may_come_in_the_first_message_and_on_the_api_host(server, tenant_a):
    with socket_to(server, settings.BASE_DOMAIN, None) as ws:
        ws.send(json.dumps({"type": "auth", "token": tenant_a.owner_token}))
        hello = ready(ws)
        created(tenant_a, "First Message")
        deliver_events()

        event = receive(ws)["event"]

    assert hello["role"] == "owner" and hello["user_id"] == tenant_a.owner.pk
    assert event["type"] == "customer.created" and event["payload"]["name"] == "First Message"


def test_no_token_in_time_or_garbage_closes(server, tenant_a):
    with socket_to(server, tenant_a.host, None) as ws:
        ws.send("not json")
        assert close_code(ws) == Close.PROTOCOL_ERROR
    with socket_to(server, tenant_a.host, None) as ws:
        ws.send(json.dumps({"type": "auth", "token": "not-a-jwt"}))
        assert close_code(ws) == Close.UNAUTHENTICATED


# Refused and closed


def test_a_token_of_another_business_is_refused(server, tenant_a, tenant_b):
    with socket_to(server, tenant_a.host, tenant_b.owner_token) as ws:
        assert close_code(ws) == Close.FORBIDDEN


def test_an_unknown_business_host_is_refused(server, tenant_a):
    with socket_to(server, f"nobody-here.{settings.BASE_DOMAIN}", tenant_a.owner_token) as ws:
        assert close_code(ws) == Close.UNKNOWN_BUSINESS


def test_an_expired_token_is_refused(server, tenant_a):
    with override_settings(JWT_EXPIRES_IN=timedelta(seconds=-5)):
        expired = issue_access_token(user_id=tenant_a.owner.pk, tenant_schema=tenant_a.tenant.schema_name, role="owner")
    with socket_to(server, tenant_a.host, expired) as ws:
        assert close_code(ws) == Close.TOKEN_EXPIRED


def test_a_socket_closes_when_its_token_expires_unless_handed_a_fresh_one(server, tenant_a):
    with override_settings(JWT_EXPIRES_IN=timedelta(seconds=2)):
        short = issue_access_token(user_id=tenant_a.owner.pk, tenant_schema=tenant_a.tenant.schema_name, role="owner")
    fresh = issue_access_token(user_id=tenant_a.owner.pk, tenant_schema=tenant_a.tenant.schema_name, role="owner")

    with socket_to(server, tenant_a.host, short) as lapsing, socket_to(server, tenant_a.host, short) as renewed:
        ready(lapsing)
        ready(renewed)
        assert receive(lapsing, "token_expiring")["expires_at"]
        receive(renewed, "token_expiring")
        renewed.send(json.dumps({"type": "auth", "token": fresh}))
        receive(renewed, "reauthenticated")

        assert close_code(lapsing) == Close.TOKEN_EXPIRED
        time.sleep(1)  # past the short token's expiry
        publish(tenant_a, "customer.created", customer_id=1, name="Still Here")
        assert receive(renewed)["event"]["payload"]["name"] == "Still Here"


def test_a_fresh_token_of_another_member_closes(server, tenant_a):
    with socket_to(server, tenant_a.host, tenant_a.owner_token) as ws:
        ready(ws)
        ws.send(json.dumps({"type": "auth", "token": tenant_a.staff_token}))
        assert close_code(ws) == Close.FORBIDDEN


def test_removing_the_member_closes_their_sockets_only(server, tenant_a):
    with staff_and_owner(server, tenant_a) as (staff, owner):
        assert tenant_a.api().delete(f"/users/{tenant_a.staff.pk}").status_code == 204
        deliver_events()

        assert close_code(staff) == Close.FORBIDDEN
        assert receive(owner)["event"]["type"] == "member.removed"


def test_suspending_the_business_closes_every_socket(server, tenant_a, tenant_b):
    with (
        socket_to(server, tenant_a.host, tenant_a.staff_token) as staff,
        socket_to(server, tenant_b.host, tenant_b.owner_token) as other,
    ):
        ready(staff)
        ready(other)
        tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status="suspended")
        deliver_events()

        assert close_code(staff) == Close.SUSPENDED
        publish(tenant_b, "customer.created", customer_id=1, name="Unaffected")
        assert receive(other)["event"]["payload"]["name"] == "Unaffected"


def test_signing_out_closes_every_socket_of_the_token_at_the_next_heartbeat(server, tenant_a):
    """No event says a token was signed out of: the heartbeat's re-check finds it, once for the
    sockets that share the token, and the member's other sockets carry on."""
    with (
        socket_to(server, tenant_a.host, tenant_a.staff_token) as staff,
        socket_to(server, tenant_a.host, tenant_a.staff_token) as staff_again,
        socket_to(server, tenant_a.host, tenant_a.owner_token) as owner,
    ):
        for ws in (staff, staff_again, owner):
            ready(ws)
        revocation.revoke_access_tokens(session=None, jti=decode_access_token(tenant_a.staff_token).jti)

        assert close_code(staff) == Close.UNAUTHENTICATED
        assert close_code(staff_again) == Close.UNAUTHENTICATED
        receive(owner, "heartbeat", timeout=5)
        owner.send(json.dumps({"type": "ping"}))
        receive(owner, "pong")


def test_a_member_may_hold_only_so_many_sockets(server, tenant_a):
    limit = int(SERVER_ENV["REALTIME_MAX_CONNECTIONS_PER_USER"])
    with ExitStack() as stack:
        for _ in range(limit):
            ready(stack.enter_context(socket_to(server, tenant_a.host, tenant_a.owner_token)))
        with socket_to(server, tenant_a.host, tenant_a.owner_token) as one_more:
            assert close_code(one_more) == Close.TOO_MANY_CONNECTIONS
        with socket_to(server, tenant_a.host, tenant_a.staff_token) as colleague:
            assert ready(colleague)["role"] == "staff"


# Resume, heartbeats, slow clients


def test_a_client_that_reconnects_with_its_last_id_gets_what_it_missed_in_order(server, tenant_a):
    with socket_to(server, tenant_a.host, tenant_a.owner_token) as ws:
        ready(ws)
        publish(tenant_a, "customer.created", customer_id=1, name="Seen")
        last_id = receive(ws)["id"]
    missed = [publish(tenant_a, "customer.created", customer_id=n, name=f"Missed {n}") for n in (2, 3)]

    with socket_to(server, tenant_a.host, tenant_a.owner_token, last_id=last_id) as ws:
        hello = ready(ws)
        replayed = [receive(ws), receive(ws)]
        publish(tenant_a, "customer.created", customer_id=4, name="Live")
        live = receive(ws)

    assert hello["resumed"] is True and hello["last_id"] == last_id
    assert [message["id"] for message in replayed] == missed
    assert [message["event"]["payload"]["name"] for message in [*replayed, live]] == ["Missed 2", "Missed 3", "Live"]


@pytest.mark.parametrize("last_id", ["99999999999999-0", "not-an-id"])
def test_an_id_that_cannot_be_resumed_from_gets_resync(server, tenant_a, last_id):
    publish(tenant_a, "customer.created", customer_id=1, name="Kept")
    with socket_to(server, tenant_a.host, tenant_a.owner_token, last_id=last_id) as ws:
        hello = ready(ws)
        resync = receive(ws, "resync")

    assert hello["resumed"] is False and resync["last_id"] == hello["last_id"]


def test_an_id_whose_successors_were_trimmed_gets_resync_and_a_kept_one_resumes(server, tenant_a):
    # Trimming drops whole radix-tree nodes (at most 100 entries, fewer when they fill 4 kB), so
    # with a cap of 150 the first ids go and the last 150 certainly stay.
    with override_settings(REALTIME_MAX_STREAM_LENGTH=150):
        ids = [publish(tenant_a, "customer.created", customer_id=n, name=f"Old {n}") for n in range(250)]

    with socket_to(server, tenant_a.host, tenant_a.owner_token, last_id=ids[0]) as ws:
        too_old = ready(ws)
        receive(ws, "resync")
    with socket_to(server, tenant_a.host, tenant_a.owner_token, last_id=ids[-2]) as ws:
        kept = ready(ws)
        last = receive(ws)

    assert too_old["resumed"] is False and too_old["last_id"] == ids[-1]
    assert kept["resumed"] is True and last["id"] == ids[-1]


def test_heartbeats_carry_the_position_to_resume_from(server, tenant_a):
    with socket_to(server, tenant_a.host, tenant_a.owner_token) as ws:
        ready(ws)
        newest = publish(tenant_a, "customer.created", customer_id=1, name="Before The Beat")
        receive(ws)
        beat = receive(ws, "heartbeat", timeout=5)
        ws.send(json.dumps({"type": "ping"}))
        receive(ws, "pong")

    assert beat["last_id"] == newest


@contextmanager
def raw_socket(port: int, host: str, token: str) -> Iterator[socket.socket]:
    """A client that opens a socket and then reads nothing (its kernel buffer kept small), as a
    phone on a stalled link would: a bare TCP socket after the WebSocket handshake."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws/v1/events HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {PROTOCOL}, bearer.{token}\r\n\r\n".encode()
    )
    with sock:
        sock.settimeout(10)
        assert sock.recv(4096).startswith(b"HTTP/1.1 101")
        yield sock


def raw_close_code(sock: socket.socket) -> int:
    """Reads frames until the server's close frame; its code."""
    stream = sock.makefile("rb")
    while True:
        opcode, length = stream.read(2)
        length &= 0x7F
        if length == 126:
            length = int.from_bytes(stream.read(2))
        elif length == 127:
            length = int.from_bytes(stream.read(8))
        payload = stream.read(length)
        if opcode & 0x0F == 0x8:
            return int.from_bytes(payload[:2])


def test_a_slow_client_is_dropped_and_slows_no_one(server, tenant_a):
    with (
        raw_socket(server, tenant_a.host, tenant_a.owner_token) as slow,
        socket_to(server, tenant_a.host, tenant_a.staff_token) as fast,
    ):
        ready(fast)
        received: list[str] = []
        reader = threading.Thread(target=lambda: received.extend(receive(fast)["id"] for _ in range(800)))
        reader.start()
        published = []
        for n in range(800):  # 16 MB, more than the stalled link and the server's buffers hold
            published.append(publish(tenant_a, "customer.created", customer_id=n, name="x" * 20_000))
            if n % 5 == 0:
                time.sleep(0.005)
        reader.join(timeout=60)

        assert received == published
        assert raw_close_code(slow) == Close.SLOW_CONSUMER


def test_without_redis_a_socket_is_told_to_come_back_later(tenant_a):
    with (
        asgi_server(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0") as port,
        socket_to(port, tenant_a.host, tenant_a.owner_token) as ws,
    ):
        assert close_code(ws) == Close.UNAVAILABLE


# Isolation and roles


def test_no_event_of_another_business_reaches_a_socket_under_interleaved_load(server, tenant_a, tenant_b):
    with (
        socket_to(server, tenant_a.host, tenant_a.owner_token) as mine,
        socket_to(server, settings.BASE_DOMAIN, tenant_b.owner_token) as theirs,
    ):
        ready(mine)
        ready(theirs)
        for n in range(20):
            created(tenant_a, f"Alpha {n}")
            created(tenant_b, f"Bravo {n}")
        deliver_events()
        published = {tenant.slug: streams_names(tenant) for tenant in (tenant_a, tenant_b)}

        mine_got = [receive(mine)["event"]["payload"]["name"] for _ in range(20)]
        theirs_got = [receive(theirs)["event"]["payload"]["name"] for _ in range(20)]
        with pytest.raises(TimeoutError):
            receive(mine, timeout=1.5)

    assert mine_got == [f"Alpha {n}" for n in range(20)] == published[tenant_a.slug]
    assert theirs_got == [f"Bravo {n}" for n in range(20)] == published[tenant_b.slug]


def streams_names(tenant) -> list[str]:
    entries = redis_client().xrange(streams.stream_key(tenant.tenant.schema_name))
    events = [json.loads(fields[b"event"]) for _, fields in entries]
    return [event["payload"]["name"] for event in events if event["type"] == "customer.created"]


def test_a_member_gets_only_the_events_their_role_may_read(server, tenant_a):
    with staff_and_owner(server, tenant_a) as (staff, owner):
        publish(tenant_a, "member.joined", user_id=999, role="staff")
        publish(tenant_a, "customer.created", customer_id=1, name="Everyone Sees")

        assert receive(owner)["event"]["type"] == "member.joined"
        assert receive(owner)["event"]["type"] == "customer.created"
        assert receive(staff)["event"]["type"] == "customer.created"
