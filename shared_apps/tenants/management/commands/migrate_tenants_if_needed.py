"""`migrate_schemas`, but tenant schemas only where needed.

The public schema is migrated as usual; then one query finds the tenant schemas whose recorded
migrations fingerprint differs from the code's (shared_apps/tenants/fingerprints.py). Their
django_migrations tables are read (a schema recorded before fingerprints existed may well be
current), and only the schemas really behind are migrated, by django-tenants' executor
(`--executor=multiprocessing` runs them in parallel); their fingerprints are then read back.
With nothing to migrate, the cost no longer grows with the number of tenants. `--all-schemas`
migrates every tenant schema (django-tenants' behaviour) and records their fingerprints.
"""

import time
from typing import Any

from django.core.management.base import CommandError
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name

from shared_apps.tenants import fingerprints
from shared_apps.tenants.models import Tenant

# Schemas made by older code while this runs (a deploy's old processes keep serving) are
# caught by a further pass; past this many passes the next run picks them up.
MAX_PASSES = 3


class Command(MigrateSchemasCommand):
    help = "Migrate the public schema, then only the tenant schemas whose migrations fingerprint is stale."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--all-schemas", action="store_true", help="Migrate every tenant schema, whatever its fingerprint."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("schema_name") or options.get("app_label") or options.get("shared") or options.get("tenant"):
            raise CommandError(
                "migrate_tenants_if_needed takes no schema, app or --shared/--tenant: use migrate_schemas."
            )
        options["shared"] = options["tenant"] = False
        super(MigrateSchemasCommand, self).handle(*args, **options)  # SyncCommon: parses the options
        verbosity = int(options.get("verbosity", 1))
        executor_class = get_executor(codename=self.executor)

        executor_class(self.args, self.options).run_migrations(tenants=[get_public_schema_name()])
        started = time.perf_counter()
        done: set[str] = set()
        for attempt in range(MAX_PASSES):
            if options["all_schemas"] and attempt == 0:
                pending = list(
                    Tenant.objects.exclude(schema_name=get_public_schema_name())
                    .order_by("id")
                    .values_list("schema_name", flat=True)
                )
            else:
                pending = fingerprints.record_applied_fingerprints(schema_names=fingerprints.stale_schema_names())
            if verbosity >= 1:
                self.stdout.write(f"Tenant schemas to migrate: {len(pending)} (pass {attempt + 1})")
            if not pending:
                break
            executor_class(self.args, self.options).run_migrations(tenants=list(pending))
            behind = fingerprints.record_applied_fingerprints(schema_names=pending)
            if behind:
                raise CommandError(f"{len(behind)} tenant schemas are still behind the code after migrating.")
            done.update(pending)
        if verbosity >= 1:
            self.stdout.write(f"Migrated {len(done)} tenant schemas in {time.perf_counter() - started:.1f} s.")
