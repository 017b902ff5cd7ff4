from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenants import services
from shared_apps.tenants.models import Tenant


class Command(BaseCommand):
    help = "Delete a tenant by slug, with its schema and every row that belongs to it."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        if not options["yes"]:
            answer = input(f"Delete {tenant.slug} and all its data? Type the slug to confirm: ")
            if answer.strip() != tenant.slug:
                raise CommandError("Not confirmed; nothing deleted.")
        services.delete_tenant(tenant_id=tenant.pk)
        self.stdout.write(f"Deleted tenant {options['slug']}.")
