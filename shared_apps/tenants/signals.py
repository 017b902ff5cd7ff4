"""Every committed write to a Tenant or Domain row is published to the other processes'
tenant caches (queries.tenant_rows_changed). Signals rather than a call in each service,
because Django admin (tenants with their domains inline) writes these rows too."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from shared_apps.tenants import queries
from shared_apps.tenants.models import Domain, Tenant


@receiver([post_save, post_delete], sender=Tenant)
@receiver([post_save, post_delete], sender=Domain)
def publish_tenant_change(sender: type, instance: Tenant | Domain, using: str, **kwargs: Any) -> None:
    if isinstance(instance, Tenant) and instance.status == Tenant.Status.POOLED:
        return  # refilling the pool: no request resolves to a pooled schema
    transaction.on_commit(queries.tenant_rows_changed, using=using)
