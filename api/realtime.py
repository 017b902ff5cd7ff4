"""Live updates over WebSockets: `/ws/v1/events` on a business's host, or on the API host with
a token naming the business, served by the ASGI process (config/asgi.py). docs/realtime.md
describes the protocol; docs/asyncapi.yaml is its machine-readable contract.

The socket is authenticated and its tenant resolved by the same functions as an HTTP request
(api.tenancy.resolve_tenant, api.auth.authorize_member), and checked again at every
heartbeat. Events come from the business's Redis stream (shared_apps/realtime/streams.py):
one reader per process (`Hub`) follows every stream that has a socket here and hands each
entry to the sockets' bounded queues; a socket that lets its queue fill is dropped, so no
client slows another. A socket that resumes first reads what it missed from the stream, then
the live entries, skipping any it already sent (ids are ordered), so none is lost or doubled.
"""

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import IntEnum
from typing import Any
from urllib.parse import parse_qs

import redis.asyncio
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port
from ninja import Router

from api import accounts, bookings, payments, portal, search, series, tenants, time_off, work_requests
from api.auth import authorize_member, may_read, require_unrevoked
from api.middleware import is_served_host
from api.tenancy import resolve_tenant
from shared_apps.accounts.tokens import AccessClaims, decode_access_token
from shared_apps.errors import NotAuthenticated, NotFound, PermissionDenied
from shared_apps.events.catalogue import EVENT_TYPES
from shared_apps.realtime import streams
from shared_apps.redis_client import REDIS_ERRORS
from shared_apps.tenants import queries as tenant_queries

logger = logging.getLogger("realtime")

PATH = "ws/v1/events"
# The subprotocol a client offers (and the server selects); a client that sends its token in
# the handshake offers it as a second "protocol", `bearer.<access token>`, never echoed back.
PROTOCOL = "servicedesk.events.v1"
TOKEN_PROTOCOL_PREFIX = "bearer."  # noqa: S105 - a prefix, not a secret
# Entries read per call when catching up.
READ_COUNT = 100
# How long the process's reader waits on the streams before looking again at which businesses
# have sockets here (a business's first socket is followed from its start position anyway).
READ_BLOCK_MS = 1000
# How often the process looks for sockets whose heartbeat is due (at most a quarter of the
# heartbeat): a heartbeat comes at most this late, and those due together are done together.
BEAT_TICK_SECONDS = 1.0


class Close(IntEnum):
    """Close codes (docs/realtime.md). 4000-4999 are the application's; a client reconnects
    after 1001, 1011, 1013 and 4008, signs in again after 4001 and 4002, and stops after the
    others."""

    PROTOCOL_ERROR = 4000
    UNAUTHENTICATED = 4001
    TOKEN_EXPIRED = 4002
    FORBIDDEN = 4003
    UNKNOWN_BUSINESS = 4004
    SUSPENDED = 4005
    SLOW_CONSUMER = 4008
    TOO_MANY_CONNECTIONS = 4029
    INTERNAL_ERROR = 1011
    UNAVAILABLE = 1013


# Which HTTP read route decides who sees each kind of event (the part of its type before the
# dot): a role sees an event only if that route would answer it.
EVENT_READ_ROUTES: dict[str, tuple[Router, str]] = {
    "customer": search.READ_ROUTES["customer"],
    "customer_link": (portal.router, ""),
    "appointment": search.READ_ROUTES["appointment"],
    "appointment_series": (series.router, ""),
    "closed_day": (time_off.closed_days_router, ""),
    # Staff read only their own time off over HTTP; a stream cannot filter by row, so time off
    # follows the list only managers read.
    "time_off": (accounts.users_router, ""),
    "booking": (bookings.router, ""),
    "work_request": (work_requests.router, ""),
    "quote": search.READ_ROUTES["quote"],
    "invoice": search.READ_ROUTES["invoice"],
    "sms": search.READ_ROUTES["text"],
    "call": search.READ_ROUTES["call"],
    "payment": (payments.router, ""),
    "member": (accounts.users_router, ""),
    "tenant": (tenants.router, "/me"),
}


def visible_event_types(role: str) -> frozenset[str]:
    """The event types a member with `role` receives (a kind without a read route: none)."""
    return frozenset(
        name
        for name in EVENT_TYPES
        if (route := EVENT_READ_ROUTES.get(name.partition(".")[0])) is not None and may_read(*route, role)
    )


def _message(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields}, separators=(",", ":"))


def _timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


@dataclass(frozen=True)
class Entry:
    """One stream entry as every socket of the business gets it: the `event` message is made
    once, whoever receives it."""

    id: str
    key: tuple[int, int]
    type: str
    payload: dict[str, Any]
    text: str

    @classmethod
    def parse(cls, entry_id: str, data: str) -> "Entry":
        event = json.loads(data)
        text = f'{{"type":"event","id":"{entry_id}","event":{data}}}'
        return cls(entry_id, streams.sequence_key(entry_id), event["type"], event["payload"], text)


class Hub:
    """The process's one reader of the businesses' streams: it follows each business that has
    a socket here from a position, and offers every new entry to that business's sockets. It
    also keeps the sockets' heartbeats, in batches (`_heartbeat`)."""

    def __init__(self) -> None:
        self.sockets: dict[str, set[EventsConsumer]] = {}
        self.positions: dict[str, str] = {}
        self.reader: asyncio.Task[None] | None = None
        # Each signed-in socket's next heartbeat (event loop time).
        self.beats: dict[EventsConsumer, float] = {}
        self.beater: asyncio.Task[None] | None = None
        self._clients: dict[int, tuple[redis.asyncio.Redis, redis.asyncio.Redis]] = {}

    def _loop_clients(self) -> tuple[redis.asyncio.Redis, redis.asyncio.Redis]:
        # One pair per event loop (tests run several loops in one process): a client for short
        # calls, and one for the reader's blocking reads with a timeout longer than the block.
        loop_id = id(asyncio.get_running_loop())
        if loop_id not in self._clients:
            timeout = settings.REDIS_SOCKET_TIMEOUT
            self._clients[loop_id] = (
                redis.asyncio.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=5),
                redis.asyncio.Redis.from_url(
                    settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=READ_BLOCK_MS / 1000 + 5
                ),
            )
        return self._clients[loop_id]

    @property
    def client(self) -> redis.asyncio.Redis:
        return self._loop_clients()[0]

    def join(self, socket: "EventsConsumer", *, schema_name: str, start: str) -> None:
        """Offer `socket` every entry read from now on; a business not followed yet is followed
        from `start`. Entries between `start` and what the reader had already read are the
        socket's to catch up on (it reads the stream after joining)."""
        self.sockets.setdefault(schema_name, set()).add(socket)
        self.positions.setdefault(schema_name, start)
        if self.reader is None or self.reader.done():
            self.reader = asyncio.create_task(self._read())

    def beat_from_now(self, socket: "EventsConsumer") -> None:
        """Give `socket` a heartbeat every REALTIME_HEARTBEAT_SECONDS from now."""
        self.beats[socket] = asyncio.get_running_loop().time() + settings.REALTIME_HEARTBEAT_SECONDS
        if self.beater is None or self.beater.done():
            self.beater = asyncio.create_task(self._beat())

    def leave(self, socket: "EventsConsumer", *, schema_name: str) -> None:
        self.beats.pop(socket, None)
        members = self.sockets.get(schema_name)
        if members is None:
            return
        members.discard(socket)
        if not members:
            del self.sockets[schema_name]
            self.positions.pop(schema_name, None)

    async def _read(self) -> None:
        reader = self._loop_clients()[1]
        while self.positions:
            try:
                batches = await streams.read_new(
                    reader, positions=dict(self.positions), block_ms=READ_BLOCK_MS, count=live_read_count()
                )
            except REDIS_ERRORS as error:
                logger.warning("Live-updates stream read failed", extra={"error": repr(error)})
                await asyncio.sleep(1)
                continue
            except Exception:  # a bug must not stop every socket's feed: logged, read again
                logger.exception("Live-updates stream read failed")
                await asyncio.sleep(1)
                continue
            for schema_name, entries in batches.items():
                if schema_name not in self.positions or not entries:
                    continue
                self.positions[schema_name] = entries[-1][0]
                for entry_id, data in entries:
                    entry = Entry.parse(entry_id, data)
                    for socket in list(self.sockets.get(schema_name, ())):
                        socket.offer(entry)

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        period = settings.REALTIME_HEARTBEAT_SECONDS
        while self.beats:
            await asyncio.sleep(min(BEAT_TICK_SECONDS, period / 4))
            now = loop.time()
            due = [socket for socket, at in self.beats.items() if at <= now and not socket.closing]
            for socket in due:
                self.beats[socket] = now + period
            if not due:
                continue
            try:
                await _heartbeat(due)
            except Exception:  # a bug must not stop every socket's heartbeat: logged, next tick
                logger.exception("Live-updates heartbeat failed")


hub = Hub()


async def _heartbeat(sockets: list["EventsConsumer"]) -> None:
    """One heartbeat of each of `sockets`: every member re-checked in one hop to the database
    thread (each token once, however many sockets share it), the leases of those still open
    renewed in one Redis round trip, then the `heartbeat` message. Done per socket, the
    re-checks and renewals of a thousand sockets were a thousand thread hops and round trips
    per heartbeat, which delayed the events sent meanwhile."""
    members = {socket.member_key(): socket.member() for socket in sockets}
    outcomes = dict(zip(members, await database_sync_to_async(_recheck_all)(list(members.values())), strict=True))
    kept = [socket for socket in sockets if socket.rechecked(outcomes[socket.member_key()])]
    with contextlib.suppress(*REDIS_ERRORS):  # kept while Redis is away; renewed next time
        await streams.renew_leases(hub.client, leases=[socket.lease() for socket in kept], ttl_ms=_lease_ms())
    for socket in kept:
        socket.offer(_message("heartbeat", last_id=socket.position))


def live_read_count() -> int:
    """Entries read per business per call: a quarter of a socket's queue, so that a burst
    handed over at once never fills the queue of a client that keeps up."""
    return max(1, min(READ_COUNT, settings.REALTIME_SEND_QUEUE // 4))


def _authorize(*, hostname: str, token: str) -> tuple[AccessClaims, str, int, str]:
    """The HTTP layer's checks, for a socket: the host is ours, the token valid and not signed
    out, the tenant resolved as for a request, the user a member of an active business.
    Returns the claims, the schema name, the tenant's id and the member's role."""
    if not is_served_host(hostname):
        raise NotFound("Unknown host.", code="disallowed_host")
    claims = decode_access_token(token)
    require_unrevoked(claims)
    tenant = resolve_tenant(hostname=hostname, claims=claims)
    actor = authorize_member(claims=claims, tenant=tenant)
    assert actor.tenant is not None and actor.role is not None
    return claims, actor.tenant.schema_name, actor.tenant.pk, actor.role


def _recheck(*, claims: AccessClaims, schema_name: str) -> str:
    """At each heartbeat: still signed in, the business active, still a member. The role."""
    require_unrevoked(claims)
    actor = authorize_member(claims=claims, tenant=tenant_queries.get_tenant_by_schema(schema_name=schema_name))
    assert actor.role is not None
    return actor.role


def _recheck_all(members: list[tuple[AccessClaims, str]]) -> list[str | Exception]:
    """`_recheck` of each (claims, schema name): the role, or the error that closes its sockets."""
    outcomes: list[str | Exception] = []
    for claims, schema_name in members:
        try:
            outcomes.append(_recheck(claims=claims, schema_name=schema_name))
        except Exception as error:  # one member's failure is theirs: the others carry on
            outcomes.append(error)
    return outcomes


def _lease_ms() -> int:
    return int(settings.REALTIME_HEARTBEAT_SECONDS * 3 * 1000)


def _close_for(error: Exception) -> tuple[Close, str]:
    if isinstance(error, NotAuthenticated):
        code = Close.TOKEN_EXPIRED if error.code == "token_expired" else Close.UNAUTHENTICATED
        return code, error.message
    if isinstance(error, NotFound):
        return Close.UNKNOWN_BUSINESS, error.message
    assert isinstance(error, PermissionDenied)
    return (Close.SUSPENDED if error.code == "tenant_suspended" else Close.FORBIDDEN), error.message


class EventsConsumer(AsyncWebsocketConsumer):
    """One client's socket."""

    async def connect(self) -> None:
        self.connection_id = uuid.uuid4().hex
        self.closing = False
        self.claims: AccessClaims | None = None
        self.schema_name = ""
        self.role = ""
        self.visible: frozenset[str] = frozenset()
        self.position = streams.ORIGIN
        self.sent_upto = (0, 0)
        self.queue: asyncio.Queue[Entry | str] = asyncio.Queue(maxsize=settings.REALTIME_SEND_QUEUE)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        headers = dict(self.scope["headers"])
        self.hostname = split_domain_port(headers.get(b"host", b"").decode("latin-1"))[0].lower()
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.requested_last_id: str | None = query.get("last_id", [None])[0]

        offered = self.scope.get("subprotocols") or []
        token = next(
            (name.removeprefix(TOKEN_PROTOCOL_PREFIX) for name in offered if name.startswith(TOKEN_PROTOCOL_PREFIX)),
            None,
        )
        await self.accept(PROTOCOL if PROTOCOL in offered else None)
        if token is not None and PROTOCOL not in offered:
            await self._close(Close.PROTOCOL_ERROR, f"Offer {PROTOCOL} next to the token.")
        elif token is not None:
            await self._authenticate(token, last_id=self.requested_last_id)
        else:
            self._start("auth_deadline", self._auth_deadline())

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self._close(Close.PROTOCOL_ERROR, "Messages are JSON objects.")
            return
        kind = message.get("type")
        token = message.get("token")
        if kind == "auth" and isinstance(token, str):
            if self.claims is None:
                last_id = message.get("last_id")
                await self._authenticate(token, last_id=last_id if isinstance(last_id, str) else self.requested_last_id)
            else:
                await self._reauthenticate(token)
        elif kind == "ping" and self.claims is not None:
            self.offer(_message("pong"))
        else:
            await self._close(Close.PROTOCOL_ERROR, "Unknown message, or not signed in yet.")

    async def disconnect(self, code: int) -> None:
        self.closing = True
        for task in self.tasks.values():
            task.cancel()
        if self.claims is None:
            return
        hub.leave(self, schema_name=self.schema_name)
        with contextlib.suppress(*REDIS_ERRORS):  # else the lease expires by itself
            await streams.release_lease(
                hub.client, schema_name=self.schema_name, user_id=self.claims.user_id, connection_id=self.connection_id
            )

    # Signing in

    async def _auth_deadline(self) -> None:
        await asyncio.sleep(settings.REALTIME_AUTH_TIMEOUT_SECONDS)
        await self._close(Close.UNAUTHENTICATED, "Send the access token first.")

    async def _authenticate(self, token: str, *, last_id: str | None) -> None:
        try:
            claims, schema_name, _, role = await database_sync_to_async(_authorize)(hostname=self.hostname, token=token)
        except (NotAuthenticated, NotFound, PermissionDenied) as error:
            await self._close(*_close_for(error))
            return
        try:
            full = await streams.take_lease(
                hub.client,
                schema_name=schema_name,
                user_id=claims.user_id,
                connection_id=self.connection_id,
                ttl_ms=_lease_ms(),
            )
        except REDIS_ERRORS:
            await self._close(Close.UNAVAILABLE, "Live updates are unavailable; try again shortly.")
            return
        if full is not None:
            await self._close(Close.TOO_MANY_CONNECTIONS, f"Too many live connections for this {full}.")
            return
        if "auth_deadline" in self.tasks:
            self.tasks.pop("auth_deadline").cancel()
        self.claims, self.schema_name = claims, schema_name
        self._set_role(role)
        try:
            await self._start_streaming(last_id)
        except REDIS_ERRORS:
            await self._close(Close.UNAVAILABLE, "Live updates are unavailable; try again shortly.")
            return
        self._start("expiry", self._expire(claims))
        hub.beat_from_now(self)

    async def _reauthenticate(self, token: str) -> None:
        """A fresh token for the same member of the same business keeps the socket open."""
        assert self.claims is not None
        try:
            claims, schema_name, _, role = await database_sync_to_async(_authorize)(hostname=self.hostname, token=token)
        except (NotAuthenticated, NotFound, PermissionDenied) as error:
            await self._close(*_close_for(error))
            return
        if claims.user_id != self.claims.user_id or schema_name != self.schema_name:
            await self._close(Close.FORBIDDEN, "The new token is for another member or business.")
            return
        self.claims = claims
        self._set_role(role)
        self._start("expiry", self._expire(claims))
        self.offer(_message("reauthenticated", expires_at=_timestamp(claims.expires_at)))

    def _set_role(self, role: str) -> None:
        if role != self.role:
            self.role, self.visible = role, visible_event_types(role)

    # Heartbeats (the hub's `_heartbeat` calls these)

    def member_key(self) -> tuple[str, str]:
        """Sockets with the same token of the same business share a re-check."""
        assert self.claims is not None
        return self.claims.jti, self.schema_name

    def member(self) -> tuple[AccessClaims, str]:
        assert self.claims is not None
        return self.claims, self.schema_name

    def lease(self) -> tuple[str, int, str]:
        assert self.claims is not None
        return self.schema_name, self.claims.user_id, self.connection_id

    def rechecked(self, outcome: str | Exception) -> bool:
        """Apply the heartbeat's re-check: the member's role, or the error that closes the
        socket. Whether the socket stays open."""
        if isinstance(outcome, Exception):
            self._start("close", self._fail(outcome))
            return False
        self._set_role(outcome)
        return True

    # Streaming

    async def _start_streaming(self, last_id: str | None) -> None:
        """`ready`, then (if the id cannot be resumed from) `resync`, then what was missed, then
        live events."""
        client = hub.client
        resumed = last_id is not None and await streams.can_resume(
            client, schema_name=self.schema_name, last_id=last_id
        )
        start = last_id if resumed and last_id is not None else await streams.tail(client, schema_name=self.schema_name)
        self.position, self.sent_upto = start, streams.sequence_key(start)
        assert self.claims is not None
        await self._send(
            _message(
                "ready",
                user_id=self.claims.user_id,
                role=self.role,
                last_id=start,
                resumed=resumed,
                heartbeat_seconds=settings.REALTIME_HEARTBEAT_SECONDS,
                expires_at=_timestamp(self.claims.expires_at),
            )
        )
        if last_id is not None and not resumed:
            await self._send(_message("resync", last_id=start, reason="Events after your last_id are no longer kept."))
        hub.join(self, schema_name=self.schema_name, start=start)
        self._start("writer", self._write(start))

    def offer(self, item: Entry | str) -> None:
        """Queue an entry or a message for this client; a full queue drops the client."""
        if self.closing:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self._start("drop", self._close(Close.SLOW_CONSUMER, "Too slow to keep up; reconnect with last_id."))

    async def _write(self, start: str) -> None:
        after = start
        while True:  # what the socket missed, page by page, before the live entries
            page = await streams.read_after(hub.client, schema_name=self.schema_name, after=after, count=READ_COUNT)
            for entry_id, data in page:
                await self._deliver(Entry.parse(entry_id, data))
            if len(page) < READ_COUNT:
                break
            after = page[-1][0]
        while not self.closing:
            item = await self.queue.get()
            if isinstance(item, Entry):
                await self._deliver(item)
            else:
                await self._send(item)

    async def _deliver(self, entry: Entry) -> None:
        if entry.key <= self.sent_upto or self.closing:
            return
        self.sent_upto, self.position = entry.key, entry.id
        if await self._react(entry):
            return
        if entry.type in self.visible:
            await self._send(entry.text)

    async def _react(self, entry: Entry) -> bool:
        """Events about this socket's own standing. True when it closes."""
        assert self.claims is not None
        mine = entry.payload.get("user_id") == self.claims.user_id
        if entry.type == "member.removed" and mine:
            await self._close(Close.FORBIDDEN, "You are no longer a member of this business.")
            return True
        if entry.type == "member.role_changed" and mine:
            self._set_role(entry.payload["role"])
        if entry.type == "tenant.status_changed" and entry.payload["status"] != "active":
            await self._close(Close.SUSPENDED, "This business is suspended.")
            return True
        return False

    async def _send(self, text: str) -> None:
        if self.closing:
            return
        try:
            # A timeout scope, not wait_for: wait_for makes a task of every send.
            async with asyncio.timeout(settings.REALTIME_SEND_TIMEOUT_SECONDS):
                await self.send(text_data=text)
        except TimeoutError:
            await self._close(Close.SLOW_CONSUMER, "Too slow to keep up; reconnect with last_id.")

    # Timers

    async def _expire(self, claims: AccessClaims) -> None:
        if claims.expires_at is None:
            return
        warning = (claims.expires_at - datetime.now(tz=UTC)).total_seconds() - settings.REALTIME_TOKEN_WARNING_SECONDS
        await asyncio.sleep(max(0.0, warning))
        self.offer(_message("token_expiring", expires_at=_timestamp(claims.expires_at)))
        await asyncio.sleep(max(0.0, (claims.expires_at - datetime.now(tz=UTC)).total_seconds()))
        await self._close(Close.TOKEN_EXPIRED, "The access token has expired.")

    def _start(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` as this socket's task `name`, replacing (cancelling) one of that name. A
        task that fails closes the socket (the client reconnects with last_id) rather than
        leaving it open and silent."""
        previous = self.tasks.get(name)
        if previous is not None and previous is not asyncio.current_task():
            previous.cancel()
        self.tasks[name] = asyncio.create_task(self._guarded(work))

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception as error:
            await self._fail(error)

    async def _fail(self, error: Exception) -> None:
        """Close for `error`: a refused member with its code, Redis away with 1013, anything
        else (logged) with 1011."""
        if isinstance(error, (NotAuthenticated, NotFound, PermissionDenied)):
            await self._close(*_close_for(error))
        elif isinstance(error, REDIS_ERRORS):
            await self._close(Close.UNAVAILABLE, "Live updates are unavailable; try again shortly.")
        elif isinstance(error, OSError):  # the client went away mid-send
            self.closing = True
        else:
            logger.error("Live-updates socket failed", exc_info=error)
            await self._close(Close.INTERNAL_ERROR, "Server error; reconnect with last_id.")

    async def _close(self, code: Close, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        if code == Close.SLOW_CONSUMER:
            logger.warning("Live-updates client dropped: too slow", extra={"schema": self.schema_name})
        try:
            await self.close(code=int(code), reason=reason[:120])
        except Exception:  # the client went first
            logger.debug("Socket already closed", exc_info=True)


class UnknownPath(AsyncWebsocketConsumer):
    """Any other socket path: the handshake is refused (HTTP 403)."""

    async def connect(self) -> None:
        await self.close()


async def health(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Plain HTTP on the ASGI process: `GET /ws/health` for load balancers, 404 otherwise."""
    found = scope["path"] == "/ws/health"
    body = b'{"status":"ok"}' if found else b'{"statusCode":404,"message":"Not found."}'
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": body})
