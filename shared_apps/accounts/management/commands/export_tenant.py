from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shared_apps.accounts import portability
from shared_apps.errors import DomainError


class Command(BaseCommand):
    help = "Write a tenant's schema (pg_dump -n) and its public rows to one archive (import_tenant reads it)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        try:
            tenant = portability.export_tenant(slug=options["slug"], path=options["file"])
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Exported tenant {tenant.slug} (schema {tenant.schema_name}) to {options['file']}.")
