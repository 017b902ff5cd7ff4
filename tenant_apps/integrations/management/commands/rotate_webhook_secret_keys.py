from django.core.management.base import BaseCommand
from django_tenants.utils import get_public_schema_name, tenant_context

from shared_apps.tenants.models import Tenant
from tenant_apps.integrations import services


class Command(BaseCommand):
    help = (
        "Re-encrypt every business's webhook signing secrets with the first key of WEBHOOK_SECRET_KEYS "
        "(after a new key was put first; the old key can be dropped once this has run)."
    )

    def handle(self, *args, **options):
        total = 0
        for tenant in Tenant.objects.exclude(schema_name=get_public_schema_name()).order_by("id").iterator():
            with tenant_context(tenant):
                total += services.reencrypt_endpoint_secrets()
        self.stdout.write(f"Re-encrypted the secrets of {total} webhook endpoints.")
