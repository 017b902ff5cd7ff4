"""Each business's live events: one bounded Redis stream per tenant, fed by a domain-event
subscriber and read by the socket server (api/realtime.py), see docs/realtime.md.

The stream's entry id is the event's sequence id: ordered within the business, and what a
client hands back to resume. The stream keeps about REALTIME_RETENTION_SECONDS of events
(trimmed by age on every add, capped at REALTIME_MAX_STREAM_LENGTH), so a client that comes
back within that window gets what it missed, and one that comes back later is told to reload.
Publishing is idempotent by event id: the subscriber's delivery record makes a redelivery a
no-op, and the seen-key here covers a publish whose database transaction failed to commit.
"""

import json
import re
from collections.abc import Awaitable
from typing import Any, cast

import redis.asyncio
from django.conf import settings
from redis.typing import KeyT, StreamIdT

from shared_apps.events.catalogue import EVENT_TYPES
from shared_apps.events.registry import subscribe
from shared_apps.events.services import DomainEvent
from shared_apps.redis_client import redis_client

SUBSCRIBER = "realtime.publish"
ENTRY_FIELD = "event"
# The id before any entry: reading after it reads from the start.
ORIGIN = "0-0"
# The seen key outlives the window a little, for a redelivery just after an event's expiry.
SEEN_GRACE_MS = 60_000
SEQUENCE_ID = re.compile(r"^\d{1,20}-\d{1,20}$")

# Atomically: skip an event already published (its entry id is kept under the seen key), else
# add it, dropping entries older than the retention window (by the server's clock, since entry
# ids are its milliseconds) and beyond the length cap. Whether anything was ever trimmed is
# kept under its own key: XINFO only tells so from Redis 7, and Redis 6.2 must do too.
_PUBLISH = """
local existing = redis.call('GET', KEYS[2])
if existing then return existing end
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local min_id = tostring(now_ms - tonumber(ARGV[2])) .. '-0'
local id = redis.call('XADD', KEYS[1], '*', ARGV[3], ARGV[1])
local trimmed = redis.call('XTRIM', KEYS[1], 'MINID', '~', min_id)
trimmed = trimmed + redis.call('XTRIM', KEYS[1], 'MAXLEN', '~', ARGV[4])
if trimmed > 0 then redis.call('SET', KEYS[3], '1') end
redis.call('SET', KEYS[2], id, 'PX', ARGV[5])
return id
"""

# Connection leases: a sorted set per business and per member of connection ids scored by
# expiry (ms). Expired leases (a process that died) are dropped first; a new lease is refused
# when either set is full; renewing one already held never is.
_LEASE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 'tenant' end
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 'user' end
end
local expires = now_ms + tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], expires, ARGV[1])
redis.call('ZADD', KEYS[2], expires, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 'ok'
"""


def stream_key(schema_name: str) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:realtime:stream:{schema_name}"


def trimmed_key(schema_name: str) -> str:
    """Set once the business's stream has lost an entry to trimming."""
    return f"{settings.REDIS_KEY_PREFIX}:realtime:trimmed:{schema_name}"


def _seen_key(event: DomainEvent) -> str:
    return f"{settings.REDIS_KEY_PREFIX}:realtime:seen:{event.id}"


def _retention_ms() -> int:
    return settings.REALTIME_RETENTION_SECONDS * 1000


def event_message(event: DomainEvent) -> dict[str, Any]:
    """What a socket client gets of an event: everything but the tenant's schema name."""
    message = event.as_message()
    del message["tenant"]
    return message


def publish_event(event: DomainEvent) -> str:
    """Add the event to its business's stream (once per event id); returns its sequence id.
    Raises when Redis is away, so the subscriber job is retried and nothing is lost."""
    entry_id = redis_client().eval(
        _PUBLISH,
        3,
        stream_key(event.tenant),
        _seen_key(event),
        trimmed_key(event.tenant),
        json.dumps(event_message(event), separators=(",", ":")),
        str(_retention_ms()),
        ENTRY_FIELD,
        str(settings.REALTIME_MAX_STREAM_LENGTH),
        str(_retention_ms() + SEEN_GRACE_MS),
    )
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


def subscribe_all() -> None:
    """Every event type goes to the stream; who sees which is the socket's choice, per role."""
    for name in EVENT_TYPES:
        subscribe(name, SUBSCRIBER, publish_event)


def sequence_key(entry_id: str) -> tuple[int, int]:
    """A sequence id as a sortable pair (ids of one stream compare so)."""
    milliseconds, _, sequence = entry_id.partition("-")
    return int(milliseconds), int(sequence)


# Reading, for the socket server (asyncio). Every function takes the process's async client.


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def tail(client: redis.asyncio.Redis, *, schema_name: str) -> str:
    """The sequence id of the business's newest event (ORIGIN when there is none)."""
    newest = await client.xrevrange(stream_key(schema_name), count=1)
    return _text(newest[0][0]) if newest else ORIGIN


async def can_resume(client: redis.asyncio.Redis, *, schema_name: str, last_id: str) -> bool:
    """Whether every event after `last_id` is still in the stream: the id is well-formed, not
    ahead of the stream (an id of another business's stream, or of a lost one), and no entry
    after it has been trimmed. Trimming removes the oldest entries, so that holds while the
    id is not older than the oldest entry kept, or nothing was ever trimmed."""
    if not SEQUENCE_ID.match(last_id):
        return False
    try:
        info = await client.xinfo_stream(stream_key(schema_name))
    except redis.ResponseError:  # no such stream: nothing was kept to resume from
        return False
    position = sequence_key(last_id)
    if position > sequence_key(_text(info["last-generated-id"])):
        return False
    if not await client.exists(trimmed_key(schema_name)):
        return True
    first = info["first-entry"]
    return first is not None and position >= sequence_key(_text(first[0]))


async def read_after(client: redis.asyncio.Redis, *, schema_name: str, after: str, count: int) -> list[tuple[str, str]]:
    """Up to `count` entries after sequence id `after`, oldest first: (id, event JSON)."""
    entries = await client.xrange(stream_key(schema_name), min=f"({after}", count=count)
    return [(_text(entry_id), _text(fields[ENTRY_FIELD.encode()])) for entry_id, fields in entries]


async def read_new(
    client: redis.asyncio.Redis, *, positions: dict[str, str], block_ms: int, count: int
) -> dict[str, list[tuple[str, str]]]:
    """Entries after each business's position (schema name -> id), waiting up to `block_ms`
    for the first: by schema name, oldest first."""
    streams: dict[KeyT, StreamIdT] = {stream_key(schema_name): after for schema_name, after in positions.items()}
    answer = await client.xread(streams, count=count, block=block_ms)
    prefix = len(stream_key(""))
    return {
        _text(key)[prefix:]: [(_text(entry_id), _text(fields[ENTRY_FIELD.encode()])) for entry_id, fields in entries]
        for key, entries in answer or []
    }


def _lease_keys(*, schema_name: str, user_id: int) -> tuple[str, str]:
    base = f"{settings.REDIS_KEY_PREFIX}:realtime:connections:{schema_name}"
    return base, f"{base}:user:{user_id}"


def _lease_arguments(*, connection_id: str, ttl_ms: int) -> list[str]:
    return [
        connection_id,
        str(ttl_ms),
        str(settings.REALTIME_MAX_CONNECTIONS_PER_TENANT),
        str(settings.REALTIME_MAX_CONNECTIONS_PER_USER),
    ]


async def take_lease(
    client: redis.asyncio.Redis, *, schema_name: str, user_id: int, connection_id: str, ttl_ms: int
) -> str | None:
    """Hold (or renew) a connection's place: None, or which limit is full ("tenant", "user")."""
    answer = _text(
        await cast(
            "Awaitable[bytes]",
            client.eval(
                _LEASE,
                2,
                *_lease_keys(schema_name=schema_name, user_id=user_id),
                *_lease_arguments(connection_id=connection_id, ttl_ms=ttl_ms),
            ),
        )
    )
    return None if answer == "ok" else answer


async def renew_leases(client: redis.asyncio.Redis, *, leases: list[tuple[str, int, str]], ttl_ms: int) -> None:
    """Renew the places of many open connections, each (schema name, user id, connection id),
    in one round trip (the script by its hash, loaded once)."""
    if not leases:
        return
    script = client.register_script(_LEASE)
    pipeline = client.pipeline(transaction=False)
    for schema_name, user_id, connection_id in leases:
        await script(
            keys=list(_lease_keys(schema_name=schema_name, user_id=user_id)),
            args=_lease_arguments(connection_id=connection_id, ttl_ms=ttl_ms),
            client=pipeline,
        )
    await pipeline.execute()


async def release_lease(client: redis.asyncio.Redis, *, schema_name: str, user_id: int, connection_id: str) -> None:
    for key in _lease_keys(schema_name=schema_name, user_id=user_id):
        await client.zrem(key, connection_id)
