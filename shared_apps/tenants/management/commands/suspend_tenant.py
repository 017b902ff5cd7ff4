from django.core.management.base import BaseCommand, CommandError

from shared_apps.errors import DomainError
from shared_apps.tenants import services
from shared_apps.tenants.models import Tenant


class Command(BaseCommand):
    help = "Suspend a tenant by slug (every tenant route answers 403), or --reactivate it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--reactivate", action="store_true")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        status = Tenant.Status.ACTIVE if options["reactivate"] else Tenant.Status.SUSPENDED
        try:
            services.set_tenant_status(tenant_id=tenant.pk, status=status)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Tenant {tenant.slug} is now {status}.")
