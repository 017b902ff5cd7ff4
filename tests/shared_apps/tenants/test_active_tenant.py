"""'May this business run work' is one rule, Tenant.is_active: the queries that pick
businesses (Tenant.objects.active()) and the refusal of requests (require_active_tenant)
agree with it for every status."""

import pytest

from shared_apps.errors import PermissionDenied
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.services import require_active_tenant


def refused(tenant: Tenant) -> bool:
    try:
        require_active_tenant(tenant=tenant)
    except PermissionDenied as refusal:
        assert refusal.code == "tenant_suspended"
        return True
    return False


@pytest.mark.parametrize("status", Tenant.Status.values)
def test_only_an_active_business_runs_work(tenant_a, status):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status=status)
    tenant = Tenant.objects.get(pk=tenant_a.tenant.pk)
    active = status == Tenant.Status.ACTIVE

    picked = Tenant.objects.active().filter(pk=tenant.pk).exists()

    assert (tenant.is_active, picked, refused(tenant)) == (active, active, not active)
