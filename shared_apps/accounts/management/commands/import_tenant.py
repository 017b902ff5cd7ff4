import subprocess
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from shared_apps.accounts import portability
from shared_apps.errors import DomainError


class Command(BaseCommand):
    help = "Recreate a tenant from an export_tenant archive in this database, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, **options):
        try:
            tenant = portability.import_tenant(path=options["file"])
        except DomainError as error:
            raise CommandError(error.message) from None
        except subprocess.CalledProcessError as error:
            raise CommandError(
                f"Restoring the schema failed: {error.stderr.decode(errors='replace')[-2000:]}"
            ) from None
        self.stdout.write(f"Imported tenant {tenant.slug} (schema {tenant.schema_name}, id {tenant.pk}).")
