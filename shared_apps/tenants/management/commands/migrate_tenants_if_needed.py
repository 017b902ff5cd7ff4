"""`migrate_schemas`, but tenant schemas only where needed, and by replaying SQL.

The public schema is migrated as usual, unless it already holds every migration of the code
(a start with nothing to migrate then does no planning at all). Then one query finds the tenant
schemas whose recorded migrations fingerprint differs from the code's
(shared_apps/tenants/fingerprints.py). Their django_migrations tables are read (a schema recorded
before fingerprints existed may well be current), and only the schemas really behind are
migrated: each migration's SQL is computed once and replayed in every schema at the same state,
or goes through django-tenants' executor when it cannot be replayed
(shared_apps/tenants/replay.py; `--executor=multiprocessing` runs those in parallel). Their
fingerprints are then read back. `--all-schemas` migrates every tenant schema
(django-tenants' behaviour) and records their fingerprints.
"""

import time
from typing import Any

from django.core.checks import Tags
from django.core.management.base import CommandError
from django_tenants.management.commands.migrate_schemas import MigrateSchemasCommand
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name

from shared_apps.tenants import fingerprints, replay
from shared_apps.tenants.models import Tenant

# Schemas made by older code while this runs (a deploy's old processes keep serving) are
# caught by a further pass; past this many passes the next run picks them up.
MAX_PASSES = 3


class Command(MigrateSchemasCommand):
    help = "Migrate the public schema, then only the tenant schemas whose migrations fingerprint is stale."
    # Models and database only: the URL checks import every API schema, seconds of every start.
    requires_system_checks = [Tags.models, Tags.database]

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--all-schemas", action="store_true", help="Migrate every tenant schema, whatever its fingerprint."
        )
        parser.add_argument(
            "--replay-workers", type=int, default=4, help="Connections replaying SQL at once (default 4)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("schema_name") or options.get("app_label") or options.get("shared") or options.get("tenant"):
            raise CommandError(
                "migrate_tenants_if_needed takes no schema, app or --shared/--tenant: use migrate_schemas."
            )
        options["shared"] = options["tenant"] = False
        super(MigrateSchemasCommand, self).handle(*args, **options)  # SyncCommon: parses the options
        verbosity = int(options.get("verbosity", 1))
        public = get_public_schema_name()
        if (
            options["all_schemas"]
            or fingerprints.applied_fingerprint(schema_name=public) != fingerprints.code_fingerprint()
        ):
            self.run_executor(tenants=[public])
        started = time.perf_counter()
        done: set[str] = set()
        for attempt in range(MAX_PASSES):
            everything = options["all_schemas"] and attempt == 0
            if everything:
                pending = list(
                    Tenant.objects.exclude(schema_name=public).order_by("id").values_list("schema_name", flat=True)
                )
            else:
                pending = fingerprints.record_applied_fingerprints(schema_names=fingerprints.stale_schema_names())
            if verbosity >= 1:
                self.stdout.write(f"Tenant schemas to migrate: {len(pending)} (pass {attempt + 1})")
            if not pending:
                break
            if everything:
                self.run_executor(tenants=list(pending))
            else:
                replay.migrate_stale_schemas(
                    schema_names=pending,
                    run_executor=self.run_executor_to,
                    workers=options["replay_workers"],
                    log=self.stdout.write if verbosity >= 1 else lambda line: None,
                )
            behind = fingerprints.record_applied_fingerprints(schema_names=pending)
            if behind:
                raise CommandError(f"{len(behind)} tenant schemas are still behind the code after migrating.")
            done.update(pending)
        if verbosity >= 1:
            self.stdout.write(f"Migrated {len(done)} tenant schemas in {time.perf_counter() - started:.1f} s.")

    def run_executor(self, *, tenants: list[str], target: replay.MigrationKey | None = None) -> None:
        """django-tenants' executor (`--executor`): Django's `migrate` in each schema, to the
        code's leaves or to `target`."""
        options = dict(self.options)
        if target is not None:
            options["app_label"], options["migration_name"] = target
        get_executor(codename=self.executor)(self.args, options).run_migrations(tenants=tenants)

    def run_executor_to(self, target: replay.MigrationKey, tenants: list[str]) -> None:
        self.run_executor(tenants=tenants, target=target)
