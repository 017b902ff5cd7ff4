from django.core.management.base import BaseCommand, CommandError

from shared_apps.tenants import services
from shared_apps.tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Delete a tenant by slug: suspended now, its schema and rows dropped after "
        "TENANT_DELETION_GRACE_DAYS (restore_tenant until then), or at once with --now."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")
        parser.add_argument("--now", action="store_true", help="Drop the schema now, with no grace period.")

    def handle(self, *args, **options):
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug {options['slug']!r}.")
        if not options["yes"]:
            answer = input(f"Delete {tenant.slug} and all its data? Type the slug to confirm: ")
            if answer.strip() != tenant.slug:
                raise CommandError("Not confirmed; nothing deleted.")
        if options["now"]:
            services.delete_tenant(tenant_id=tenant.pk)
            self.stdout.write(f"Deleted tenant {options['slug']}.")
            return
        tenant = services.schedule_tenant_deletion(tenant_id=tenant.pk)
        self.stdout.write(
            f"Suspended tenant {tenant.slug}; its data is dropped after {tenant.deletion_due_at:%Y-%m-%d %H:%M} UTC "
            f"unless `manage.py restore_tenant {tenant.slug}` runs before."
        )
