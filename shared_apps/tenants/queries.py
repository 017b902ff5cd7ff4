"""Reading tenants. Host and schema lookups are cached in the process so tenant resolution
costs no SQL on a warm process. Every committed change to a Tenant or Domain row, in any
process, replaces a generation token in Redis (`tenant_rows_changed`); each lookup reads it
(one Redis GET) and drops entries made under another generation, so every process sees a
change on its next request. An entry whose generation Redis confirms is kept up to
TENANT_CACHE_VERIFIED_SECONDS (so a rotation over thousands of tenants still hits); while
Redis does not answer, entries expire after TENANT_CACHE_SECONDS, and a change whose publish
failed is published again once Redis answers. Each cache holds at most
TENANT_CACHE_MAX_ENTRIES hosts or schemas, least recently used dropped first (unknown hosts
are cached too, so anyone could otherwise grow it without end)."""

import logging
import threading
import time
import uuid
from collections import OrderedDict
from typing import NamedTuple, cast

from django.conf import settings
from django.db import connection

from shared_apps.errors import NotFound
from shared_apps.redis_client import fail_open, redis_client
from shared_apps.tenants.models import Domain, Tenant

logger = logging.getLogger(__name__)

# The generation before any change was recorded (also after Redis lost the key).
_FIRST_GENERATION = b"-"


class _Entry(NamedTuple):
    cached_at: float
    generation: bytes | None
    tenant: Tenant | None


_lock = threading.Lock()
_by_host: OrderedDict[str, _Entry] = OrderedDict()
_by_schema: OrderedDict[str, _Entry] = OrderedDict()
# Set when publishing a change failed: the next lookup that reaches Redis publishes it.
_publish_pending = threading.Event()


def _generation_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:tenants:generation"


def current_generation() -> bytes | None:
    """The tenant generation in Redis, or None when Redis does not answer (cached tenants then
    expire by age only)."""

    def read() -> bytes:
        client = redis_client()
        if _publish_pending.is_set():
            client.set(_generation_key(), uuid.uuid4().hex)
            _publish_pending.clear()
        # A plain client, not the Django cache: one GET costs a quarter of a cache.get().
        # redis-py types a synchronous client's replies as possibly awaitable.
        return cast(bytes | None, client.get(_generation_key())) or _FIRST_GENERATION

    return fail_open(read, fallback=lambda: None, what="tenant generation read")


def tenant_rows_changed() -> None:
    """Tell every process that cached tenants are stale. Call after the change committed, so
    no process reloads the old row under the new generation."""
    fail_open(
        lambda: redis_client().set(_generation_key(), uuid.uuid4().hex),
        fallback=_publish_pending.set,
        what="tenant generation publish",
    )


def _cached(store: OrderedDict[str, _Entry], key: str, generation: bytes | None) -> tuple[bool, Tenant | None]:
    entry = store.get(key)
    if entry is None:
        return False, None
    age = time.monotonic() - entry.cached_at
    if generation is None:
        fresh = age < settings.TENANT_CACHE_SECONDS
    else:
        fresh = entry.generation == generation and age < settings.TENANT_CACHE_VERIFIED_SECONDS
    if not fresh:
        return False, None
    with _lock:
        if key in store:
            store.move_to_end(key)
    return True, entry.tenant


def _remember(store: OrderedDict[str, _Entry], key: str, generation: bytes | None, tenant: Tenant | None) -> None:
    with _lock:
        store[key] = _Entry(time.monotonic(), generation, tenant)
        store.move_to_end(key)
        while len(store) > settings.TENANT_CACHE_MAX_ENTRIES:
            store.popitem(last=False)


def cached_entries() -> int:
    """How many hosts and schemas this process holds (tests and benchmarks)."""
    return len(_by_host) + len(_by_schema)


def get_tenant_for_host(*, host: str) -> Tenant | None:
    """The tenant that owns `host` (a Domain row), or None."""
    # The generation is read before the row: a change committed in between is then seen as a
    # newer generation on the next lookup, never cached under it.
    generation = current_generation()
    hit, tenant = _cached(_by_host, host, generation)
    if hit:
        return tenant
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    tenant = domain.tenant if domain else None
    _remember(_by_host, host, generation, tenant)
    return tenant


def get_tenant_by_schema(*, schema_name: str) -> Tenant | None:
    """The tenant with this schema (the access token's `tenant` claim), or None."""
    generation = current_generation()
    hit, tenant = _cached(_by_schema, schema_name, generation)
    if hit:
        return tenant
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    _remember(_by_schema, schema_name, generation, tenant)
    return tenant


def current_tenant_id() -> int:
    """The id of the business whose schema is active: a request's or a webhook's tenant, or,
    in a job (which activates a schema by name only), the one owning that schema (cached)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant):
        return tenant.pk
    schema_name = connection.schema_name  # type: ignore[attr-defined]  # django-tenants' database backend
    owner = get_tenant_by_schema(schema_name=schema_name)
    if owner is None:
        raise RuntimeError(f"no business owns the active schema {schema_name!r}")
    return owner.pk


def forget_tenant(tenant: Tenant) -> None:
    """Drop every cached entry of `tenant` in this process."""
    with _lock:
        _by_schema.pop(tenant.schema_name, None)
        for host in [host for host, entry in _by_host.items() if entry.tenant and entry.tenant.pk == tenant.pk]:
            _by_host.pop(host, None)


def forget_all_tenants() -> None:
    with _lock:
        _by_host.clear()
        _by_schema.clear()


def get_tenant_for_update(*, tenant_id: int) -> Tenant:
    """Lock an existing (non-pooled or pooled) tenant row for the caller's transaction."""
    tenant = Tenant.objects.select_for_update(of=("self",)).filter(pk=tenant_id).first()
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def list_tenants(*, status: str | None = None):
    """Claimed tenants (pooled schemas are an implementation detail), newest first."""
    tenants = Tenant.objects.exclude(status=Tenant.Status.POOLED).order_by("-id")
    if status:
        tenants = tenants.filter(status=status)
    return tenants


def get_claimed_tenant(*, tenant_id: int) -> Tenant:
    tenant = list_tenants().filter(pk=tenant_id).first()
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant


def get_claimed_tenant_for_update(*, tenant_id: int) -> Tenant:
    """Lock a claimed tenant row; a pooled schema is NotFound like an unknown id."""
    tenant = list_tenants().select_for_update(of=("self",)).filter(pk=tenant_id).first()
    if tenant is None:
        raise NotFound("Tenant not found.")
    return tenant
