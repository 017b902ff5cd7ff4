"""Reading tenants. Host and schema lookups are cached in the process for a few seconds
(TENANT_CACHE_SECONDS) so tenant resolution costs no SQL on a warm process; changes made in
this process drop the entry at once."""

import threading
import time

from django.conf import settings

from shared_apps.errors import NotFound
from shared_apps.tenants.models import Domain, Tenant

_lock = threading.Lock()
_by_host: dict[str, tuple[float, Tenant | None]] = {}
_by_schema: dict[str, tuple[float, Tenant | None]] = {}


def _cached(store: dict[str, tuple[float, Tenant | None]], key: str) -> tuple[bool, Tenant | None]:
    entry = store.get(key)
    if entry is None or entry[0] < time.monotonic():
        return False, None
    return True, entry[1]


def _remember(store: dict[str, tuple[float, Tenant | None]], key: str, tenant: Tenant | None) -> None:
    with _lock:
        store[key] = (time.monotonic() + settings.TENANT_CACHE_SECONDS, tenant)


def get_tenant_for_host(*, host: str) -> Tenant | None:
    """The tenant that owns `host` (a Domain row), or None."""
    hit, tenant = _cached(_by_host, host)
    if hit:
        return tenant
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    tenant = domain.tenant if domain else None
    _remember(_by_host, host, tenant)
    return tenant


def get_tenant_by_schema(*, schema_name: str) -> Tenant | None:
    """The tenant with this schema (the access token's `tenant` claim), or None."""
    hit, tenant = _cached(_by_schema, schema_name)
    if hit:
        return tenant
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    _remember(_by_schema, schema_name, tenant)
    return tenant


def forget_tenant(tenant: Tenant) -> None:
    """Drop every cached entry of `tenant` in this process."""
    with _lock:
        _by_schema.pop(tenant.schema_name, None)
        for host in [host for host, (_, cached) in _by_host.items() if cached and cached.pk == tenant.pk]:
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
