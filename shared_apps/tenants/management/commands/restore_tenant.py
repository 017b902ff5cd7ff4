from django.core.management.base import BaseCommand, CommandError

from shared_apps.errors import Conflict
from shared_apps.tenants import services
from shared_apps.tenants.models import Tenant


class Command(BaseCommand):
    help = "Cancel a tenant's pending deletion (within its grace period): it is active again."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r} (dropped already, or never existed).")
        try:
            services.restore_tenant(tenant_id=tenant.pk)
        except Conflict as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Restored tenant {tenant.slug}.")
