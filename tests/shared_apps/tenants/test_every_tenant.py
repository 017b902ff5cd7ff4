"""Periodic work over every business: each active one in its own schema, in id order; one
business's failure delays no other and still fails the job."""

import pytest
from django.db import connection
from django.db.models import Q

from shared_apps.tenants.every_tenant import run_in_every_active_tenant
from shared_apps.tenants.models import Tenant


def test_each_active_business_runs_in_its_schema_and_a_suspended_one_is_passed_over(tenant_a, tenant_b):
    Tenant.objects.filter(pk=tenant_b.tenant.pk).update(status=Tenant.Status.SUSPENDED)
    ran: list[str] = []

    def work(tenant: Tenant) -> int:
        ran.append(connection.schema_name)
        return 2

    total = run_in_every_active_tenant(work, having=Q(pk__in=[tenant_a.tenant.pk, tenant_b.tenant.pk]))

    assert (total, ran) == (2, [tenant_a.tenant.schema_name])


def test_one_business_failing_delays_no_other_and_fails_the_job(tenant_a, tenant_b):
    ran: list[str] = []

    def work(tenant: Tenant) -> int:
        ran.append(tenant.schema_name)
        if tenant.pk == tenant_a.tenant.pk:
            raise RuntimeError("provider away")
        return 1

    with pytest.raises(RuntimeError, match="provider away"):
        run_in_every_active_tenant(work, having=Q(pk__in=[tenant_a.tenant.pk, tenant_b.tenant.pk]))

    assert ran == [tenant_a.tenant.schema_name, tenant_b.tenant.schema_name]
