"""Periodic work every active business needs (asking the providers what became of texts and
calls): one job walks the businesses, running the work in each one's schema in turn. One
business's failure delays no other: it is logged, the walk goes on, and the job fails at the
end so the failure shows."""

import logging
from collections.abc import Callable

from django.db.models import Q
from django_tenants.utils import tenant_context

from shared_apps.tenants.models import Tenant

logger = logging.getLogger("tenants.every_tenant")


def run_in_every_active_tenant(work: Callable[[Tenant], int], *, having: Q | None = None) -> int:
    """`work(tenant)` in the schema of every active business matching `having`, in id order;
    the sum of what it returned. The first failure is raised after every business ran."""
    tenants = Tenant.objects.active().filter(having or Q()).order_by("id")
    total = 0
    failure: Exception | None = None
    for tenant in tenants.iterator(chunk_size=500):
        try:
            with tenant_context(tenant):
                total += work(tenant)
        except Exception as error:
            logger.exception("Periodic work failed for tenant %s", tenant.schema_name)
            failure = failure or error
    if failure is not None:
        raise failure
    return total
