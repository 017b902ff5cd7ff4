from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from shared_apps.accounts import invitations
from shared_apps.accounts.models import Membership, User
from shared_apps.tenants import provisioning, services
from shared_apps.tenants.models import Tenant

DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example.com"
DEMO_PASSWORD = "demo-password-123"  # noqa: S105 - a published demo login
ADMIN_EMAIL = "admin@platform.example.com"


class Command(BaseCommand):
    help = "Create the demo tenant, its owner and a platform admin (idempotent); fill the pool."

    def handle(self, *args, **options):
        with transaction.atomic():
            tenant = Tenant.objects.filter(slug=DEMO_SLUG).first() or services.create_tenant(
                slug=DEMO_SLUG, name="Demo Plumbing & Heating", timezone_name="America/New_York"
            )
            if not Membership.objects.filter(tenant=tenant, user__email=DEMO_EMAIL).exists():
                # The owner joins like anyone else: through an invitation, accepted here at once
                # (so none is mailed: the demo owner logs in with the published password).
                invitation = invitations.create_invitation(
                    tenant_id=tenant.pk,
                    actor_role=Membership.Role.OWNER,
                    inviter_id=None,
                    email=DEMO_EMAIL,
                    role=Membership.Role.OWNER,
                    send_email=False,
                )
                invitations.accept_invitation(token=invitation.token, password=DEMO_PASSWORD, full_name="Demo Owner")
            if not User.objects.filter(email=ADMIN_EMAIL).exists():
                User.objects.create_superuser(ADMIN_EMAIL, DEMO_PASSWORD, full_name="Platform Admin")
        provisioning.refill_tenant_pool()
        port = settings.PORT
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"API docs:      http://{settings.BASE_DOMAIN}:{port}/api/v1/docs",
                    f"Demo business: http://{DEMO_SLUG}.{settings.BASE_DOMAIN}:{port}/api/v1/tenants/me",
                    f"Live updates:  ws://{DEMO_SLUG}.{settings.BASE_DOMAIN}:{settings.REALTIME_PORT}/ws/v1/events",
                    f"Log in:        POST /api/v1/auth/login  email={DEMO_EMAIL} password={DEMO_PASSWORD}",
                    f"Platform admin: {ADMIN_EMAIL} / {DEMO_PASSWORD} (also Django admin at /admin/)",
                    "",
                ]
            )
        )
