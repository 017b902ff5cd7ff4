from django.core.management.base import BaseCommand, CommandError

from shared_apps.accounts import invitations
from shared_apps.errors import DomainError


class Command(BaseCommand):
    help = "Create an active tenant (schema from the pool) and optionally invite its owner."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--timezone", default="UTC")
        parser.add_argument("--currency", default="usd")
        parser.add_argument(
            "--owner-email",
            help="Invite this email as owner: the link is mailed and printed; nobody joins until it is accepted.",
        )

    def handle(self, *args, **options):
        try:
            tenant, invitation = invitations.create_tenant_inviting_owner(
                slug=options["slug"],
                name=options["name"],
                timezone_name=options["timezone"],
                currency=options["currency"],
                owner_email=options["owner_email"],
                inviter_id=None,
            )
        except DomainError as error:
            raise CommandError(f"{error.message} {error.details or ''}".strip()) from error
        self.stdout.write(f"Created tenant {tenant.slug} (id {tenant.pk}, schema {tenant.schema_name}).")
        if invitation is not None:
            self.stdout.write(f"Owner invitation for {invitation.invitation.email}: {invitation.accept_url}")
