import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_exists

from shared_apps.accounts.management.commands.seed_demo import DEMO_EMAIL, DEMO_PASSWORD
from shared_apps.accounts.models import Invitation, User
from shared_apps.tenants import provisioning
from shared_apps.tenants.models import Tenant
from tests.client import ApiClient
from tests.conftest import PASSWORD
from tests.isolation import assert_refused


@pytest.fixture
def platform_api(db, api_host) -> ApiClient:
    User.objects.create_superuser("root@platform.test", PASSWORD)
    tokens = api_host.post("/auth/login", {"email": "root@platform.test", "password": PASSWORD}).json()
    return api_host.with_token(tokens["access_token"])


def test_platform_admin_lists_claimed_tenants_only(platform_api, tenant_a, tenant_b):
    response = platform_api.get("/platform/tenants")

    assert response.status_code == 200
    slugs = {item["slug"] for item in response.json()["items"]}
    assert {"alpha", "bravo"} <= slugs
    assert None not in slugs


def test_tenant_members_are_not_platform_admins(tenant_a):
    assert_refused(tenant_a.api(on_api_host=True).get("/platform/tenants"), 403)
    assert_refused(tenant_a.api().get("/platform/tenants"), 403)


def test_anonymous_is_401(api_host):
    assert_refused(api_host.get("/platform/tenants"), 401)


def test_create_suspend_reactivate_tenant(platform_api, tenant_a):
    created = platform_api.post("/platform/tenants", {"slug": "made-by-admin", "name": "Admin Made"})
    tenant_id = created.json()["id"]
    suspended = platform_api.patch(f"/platform/tenants/{tenant_id}", {"status": "suspended"})
    reactivated = platform_api.patch(f"/platform/tenants/{tenant_id}", {"status": "active"})

    assert created.status_code == 201
    assert schema_exists(created.json()["schema_name"])
    assert suspended.json()["status"] == "suspended"
    assert reactivated.json()["status"] == "active"


def test_a_tenant_created_with_owner_email_gets_its_owner_through_the_invitation(
    platform_api, api_host, mailoutbox, django_capture_on_commit_callbacks
):
    # Given a platform admin creates a business naming its owner
    with django_capture_on_commit_callbacks(execute=True):
        created = platform_api.post(
            "/platform/tenants", {"slug": "owned-co", "name": "Owned Co", "owner_email": "Boss@Owned.test"}
        )

    # Then the answer carries the owner's invitation, which was mailed too, and nobody is a member yet
    assert created.status_code == 201, created.content
    invitation = created.json()["owner_invitation"]
    assert (invitation["email"], invitation["role"]) == ("boss@owned.test", "owner")
    token = re.search(r"token=([^&#\s]+)", invitation["accept_url"]).group(1)
    assert [message.to for message in mailoutbox] == [["boss@owned.test"]]
    assert token in mailoutbox[0].body
    tenant = Tenant.objects.get(slug="owned-co")
    assert not tenant.memberships.exists()

    # When the invitation is accepted, the owner runs the business
    accepted = api_host.post("/auth/accept-invite", {"token": token, "password": PASSWORD})
    assert accepted.status_code == 200, accepted.content
    me = api_host.with_token(accepted.json()["access_token"]).get("/auth/me").json()
    assert me["memberships"] == [{"tenant": "owned-co", "tenant_name": "Owned Co", "role": "owner"}]


def test_without_owner_email_a_created_tenant_has_no_invitation(platform_api):
    created = platform_api.post("/platform/tenants", {"slug": "unowned-co", "name": "Unowned Co"})

    assert created.status_code == 201
    assert created.json()["owner_invitation"] is None
    assert not Invitation.objects.filter(tenant__slug="unowned-co").exists()


def test_a_bad_owner_email_creates_no_tenant(platform_api):
    body = assert_refused(
        platform_api.post("/platform/tenants", {"slug": "half-made", "name": "Half", "owner_email": "not-an-email"}),
        400,
    )

    assert body["errors"][0]["field"] == "email"
    assert not Tenant.objects.filter(slug="half-made").exists()


def test_the_owner_invitation_link_is_never_stored_for_replay(platform_api):
    headers = {"Idempotency-Key": "owned-once"}
    body = {"slug": "keyed-co", "name": "Keyed", "owner_email": "k@keyed.test"}

    first = platform_api.post("/platform/tenants", body, headers=headers)
    again = platform_api.post("/platform/tenants", body, headers=headers)

    assert first.status_code == 201
    # Not replayed (the answer holds a secret): the retry really runs, and the slug is taken.
    assert_refused(again, 409)


def test_suspension_locks_out_the_tenant_at_once(platform_api, tenant_a):
    platform_api.patch(f"/platform/tenants/{tenant_a.tenant.pk}", {"status": "suspended"})

    body = assert_refused(tenant_a.api().get("/tenants/me"), 403)
    assert body["errors"][0]["code"] == "tenant_suspended"


def test_bad_status_and_unknown_tenant(platform_api):
    assert_refused(platform_api.patch("/platform/tenants/999999", {"status": "suspended"}), 404)
    assert_refused(platform_api.patch("/platform/tenants/999999", {"status": "bogus"}), 404)
    assert_refused(platform_api.get("/platform/tenants/999999"), 404)
    assert_refused(platform_api.post("/platform/tenants", {"slug": "x", "name": "X"}), 400)


def test_pooled_schemas_are_unknown_to_the_platform_api(platform_api):
    pooled = provisioning.create_pooled_tenant()
    url = f"/platform/tenants/{pooled.pk}"

    assert_refused(platform_api.get(url), 404)
    assert_refused(platform_api.patch(url, {"status": "suspended"}), 404)
    assert_refused(platform_api.patch(url, {"status": "bogus"}), 404)
    assert_refused(platform_api.delete(url), 404)
    assert Tenant.objects.get(pk=pooled.pk).status == Tenant.Status.POOLED
    assert schema_exists(pooled.schema_name)


def test_delete_tenant_suspends_it_and_keeps_its_schema_for_the_grace_period(platform_api):
    created = platform_api.post("/platform/tenants", {"slug": "short-lived", "name": "Short"}).json()

    response = platform_api.delete(f"/platform/tenants/{created['id']}")

    assert response.status_code == 204
    assert schema_exists(created["schema_name"])
    shown = platform_api.get(f"/platform/tenants/{created['id']}").json()
    assert shown["status"] == "suspended"
    due = datetime.fromisoformat(shown["deletion_due_at"])
    assert abs(due - timezone.now() - timedelta(days=settings.TENANT_DELETION_GRACE_DAYS)) < timedelta(minutes=1)


def test_management_commands_create_suspend_delete(db, capsys):
    call_command("create_tenant", "cmd-co", "--name", "Cmd Co", "--owner-email", "o@cmd.test")
    call_command("suspend_tenant", "cmd-co")
    suspended = Tenant.objects.get(slug="cmd-co").status
    call_command("suspend_tenant", "cmd-co", "--reactivate")
    schema_name = Tenant.objects.get(slug="cmd-co").schema_name
    call_command("delete_tenant", "cmd-co", "--yes", "--now")

    assert suspended == "suspended"
    assert not schema_exists(schema_name)
    output = capsys.readouterr().out
    assert "Created tenant cmd-co" in output
    assert "Owner invitation for o@cmd.test: http" in output
    assert not User.objects.filter(email="o@cmd.test").exists()


def test_management_command_errors_are_readable(db):
    with pytest.raises(CommandError, match="slug"):
        call_command("create_tenant", "-bad-", "--name", "Bad")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("suspend_tenant", "nobody-here")


def test_seed_demo_owner_joins_through_an_invitation_and_logs_in(db, api_host):
    call_command("seed_demo")
    call_command("seed_demo")

    login = api_host.post("/auth/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})

    assert login.status_code == 200
    assert login.json()["tenant"]["slug"] == "demo"
    assert Invitation.objects.filter(email=DEMO_EMAIL, accepted_at__isnull=False).count() == 1


@pytest.mark.parametrize(
    "page", ["/admin/", "/admin/tenants/tenant/", "/admin/accounts/user/", "/admin/accounts/invitation/"]
)
def test_django_admin_pages_render_for_a_platform_admin_on_the_api_host(db, tenant_a, page):
    admin_user = User.objects.create_superuser("root@platform.test", PASSWORD)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)

    response = client.get(page, HTTP_HOST=settings.BASE_DOMAIN)

    assert response.status_code == 200


def test_django_admin_is_refused_on_a_tenant_host(db, tenant_a):
    admin_user = User.objects.create_superuser("root@platform.test", PASSWORD)
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)

    response = client.get("/admin/", HTTP_HOST=tenant_a.host)

    assert response.status_code == 302
