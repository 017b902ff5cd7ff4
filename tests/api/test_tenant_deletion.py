"""Deleting a business: suspended at once, dropped after the grace period by the purge job,
restorable until then."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_exists

from shared_apps.accounts.models import User
from shared_apps.tenants import services
from shared_apps.tenants.models import Tenant
from tasks import actors
from tasks.management.commands.run_scheduler import PERIODIC_JOBS
from tests.client import ApiClient
from tests.conftest import PASSWORD
from tests.isolation import assert_refused


@pytest.fixture
def platform_api(db, api_host) -> ApiClient:
    User.objects.create_superuser("root@platform.test", PASSWORD)
    tokens = api_host.post("/auth/login", {"email": "root@platform.test", "password": PASSWORD}).json()
    return api_host.with_token(tokens["access_token"])


def test_deleted_tenant_answers_403_at_once_and_restore_brings_it_back(platform_api, tenant_a):
    assert tenant_a.api().get("/customers").status_code == 200

    assert platform_api.delete(f"/platform/tenants/{tenant_a.tenant.pk}").status_code == 204
    refused = assert_refused(tenant_a.api().get("/customers"), 403)
    restored = platform_api.post(f"/platform/tenants/{tenant_a.tenant.pk}/restore")

    assert refused["errors"][0]["code"] == "tenant_suspended"
    assert restored.status_code == 200, restored.content
    assert restored.json()["status"] == "active"
    assert restored.json()["deletion_due_at"] is None
    assert tenant_a.api().get("/customers").status_code == 200


def test_deleted_tenant_cannot_be_reactivated_by_status_change(platform_api, tenant_a):
    platform_api.delete(f"/platform/tenants/{tenant_a.tenant.pk}")

    body = assert_refused(platform_api.patch(f"/platform/tenants/{tenant_a.tenant.pk}", {"status": "active"}), 409)

    assert body["errors"][0]["code"] == "deletion_scheduled"


def test_restore_without_pending_deletion_is_409(platform_api, tenant_a):
    body = assert_refused(platform_api.post(f"/platform/tenants/{tenant_a.tenant.pk}/restore"), 409)

    assert body["errors"][0]["code"] == "not_scheduled_for_deletion"


def test_restore_of_unknown_tenant_is_404(platform_api):
    assert_refused(platform_api.post("/platform/tenants/987654321/restore"), 404)


def test_only_platform_admins_restore(tenant_a):
    assert_refused(tenant_a.api(on_api_host=True).post(f"/platform/tenants/{tenant_a.tenant.pk}/restore"), 403)


def test_deleting_twice_keeps_the_first_due_date(db):
    tenant = services.create_tenant(slug="twice-deleted", name="Twice")
    first = services.schedule_tenant_deletion(tenant_id=tenant.pk).deletion_due_at

    second = services.schedule_tenant_deletion(tenant_id=tenant.pk).deletion_due_at

    assert first == second


@override_settings(TENANT_DELETION_GRACE_DAYS=30)
def test_purge_drops_only_tenants_past_their_grace_period(db):
    due = services.create_tenant(slug="due-for-purge", name="Due")
    waiting = services.create_tenant(slug="still-in-grace", name="Waiting")
    services.schedule_tenant_deletion(tenant_id=due.pk)
    services.schedule_tenant_deletion(tenant_id=waiting.pk)
    Tenant.objects.filter(pk=due.pk).update(deletion_due_at=timezone.now() - timedelta(seconds=1))

    dropped = services.purge_deleted_tenants()

    assert dropped == 1
    assert not Tenant.objects.filter(pk=due.pk).exists()
    assert not schema_exists(due.schema_name)
    assert Tenant.objects.get(pk=waiting.pk).status == Tenant.Status.SUSPENDED
    assert schema_exists(waiting.schema_name)


def test_purge_at_the_end_of_the_grace_period_drops_a_tenant_deleted_then(db):
    tenant = services.create_tenant(slug="grace-ends", name="Grace")
    services.schedule_tenant_deletion(tenant_id=tenant.pk)

    kept = services.purge_deleted_tenants(now=timezone.now() + timedelta(days=29))
    dropped = services.purge_deleted_tenants(now=timezone.now() + timedelta(days=30, minutes=1))

    assert (kept, dropped) == (0, 1)
    assert not schema_exists(tenant.schema_name)


def test_restored_tenant_is_never_purged(db):
    tenant = services.create_tenant(slug="came-back", name="Back")
    services.schedule_tenant_deletion(tenant_id=tenant.pk)
    services.restore_tenant(tenant_id=tenant.pk)

    assert services.purge_deleted_tenants(now=timezone.now() + timedelta(days=365)) == 0
    assert schema_exists(tenant.schema_name)


def test_the_purge_is_a_periodic_job(db):
    tenant = services.create_tenant(slug="purged-by-job", name="Job")
    services.schedule_tenant_deletion(tenant_id=tenant.pk)
    Tenant.objects.filter(pk=tenant.pk).update(deletion_due_at=timezone.now() - timedelta(seconds=1))

    actors.purge_deleted_tenants.fn()

    assert actors.purge_deleted_tenants in [actor for actor, _ in PERIODIC_JOBS]
    assert not schema_exists(tenant.schema_name)


def test_delete_and_restore_commands(db, capsys):
    tenant = services.create_tenant(slug="cmd-grace", name="Cmd")

    call_command("delete_tenant", "cmd-grace", "--yes")
    suspended = Tenant.objects.get(pk=tenant.pk)
    call_command("restore_tenant", "cmd-grace")

    assert suspended.status == Tenant.Status.SUSPENDED
    assert suspended.deletion_due_at is not None
    assert Tenant.objects.get(pk=tenant.pk).status == Tenant.Status.ACTIVE
    assert "restore_tenant cmd-grace" in capsys.readouterr().out
    with pytest.raises(CommandError, match="not being deleted"):
        call_command("restore_tenant", "cmd-grace")


def test_purge_deletes_the_businesss_files_and_only_its_own(db):
    from shared_apps import storage

    due = services.create_tenant(slug="files-purged", name="Due")
    other = services.create_tenant(slug="files-kept", name="Kept")
    storage.write("files/photo", b"due's", content_type="image/jpeg", schema_name=due.schema_name)
    storage.write("files/photo", b"other's", content_type="image/jpeg", schema_name=other.schema_name)
    services.schedule_tenant_deletion(tenant_id=due.pk)

    during_grace = services.purge_deleted_tenants(now=timezone.now() + timedelta(days=29))
    kept_meanwhile = storage.read("files/photo", schema_name=due.schema_name)
    services.purge_deleted_tenants(now=timezone.now() + timedelta(days=30, minutes=1))

    assert (during_grace, kept_meanwhile) == (0, b"due's")
    assert list(storage.list_objects(schema_name=due.schema_name)) == []
    assert storage.read("files/photo", schema_name=other.schema_name) == b"other's"
