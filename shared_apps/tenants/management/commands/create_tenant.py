from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Membership
from shared_apps.errors import DomainError
from shared_apps.tenants import services


class Command(BaseCommand):
    help = "Create an active tenant (schema from the pool) and optionally its owner."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="usd")
        parser.add_argument("--owner-email")
        parser.add_argument("--owner-password")

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                tenant = services.create_tenant(
                    slug=options["slug"],
                    name=options["name"],
                    timezone_name=options["timezone"],
                    currency=options["currency"],
                )
                if options["owner_email"]:
                    accounts.invite_member(
                        tenant_id=tenant.pk,
                        actor_role=Membership.Role.OWNER,
                        email=options["owner_email"],
                        role=Membership.Role.OWNER,
                        password=options["owner_password"],
                    )
        except DomainError as error:
            raise CommandError(f"{error.message} {error.details or ''}".strip()) from error
        self.stdout.write(f"Created tenant {tenant.slug} (id {tenant.pk}, schema {tenant.schema_name}).")
