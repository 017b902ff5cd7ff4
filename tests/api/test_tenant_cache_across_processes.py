"""Tenant changes reach every server process on its next request, not when its cache entry
expires: two real gunicorn servers (separate processes, separate in-process tenant caches)
on the test database and the test Redis namespace."""

import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings

from shared_apps.accounts.models import User
from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from tests.conftest import PASSWORD
from tests.servers import Server, gunicorn_servers

pytestmark = pytest.mark.concurrency


@pytest.fixture(scope="module")
def two_servers(django_db_setup) -> Iterator[list[Server]]:
    # A cache lifetime far longer than the test: only the published change can refresh it.
    with gunicorn_servers(2, TENANT_CACHE_SECONDS="300") as servers:
        yield servers


def statuses(servers: list[Server], *, host: str, token: str) -> list[int]:
    return [server.request("GET", "/tenants/me", host=host, token=token)[0] for server in servers]


def test_settings_change_through_one_process_is_seen_by_the_other_at_once(committed_tenant, two_servers):
    first, second = two_servers
    host, token = committed_tenant.host, committed_tenant.owner_token
    # Given both processes have the tenant cached, by host and by token on the API host
    for server in two_servers:
        assert server.json("GET", "/tenants/me", host=host, token=token)[1]["timezone"] == "America/New_York"
        assert server.json("GET", "/tenants/me", host=settings.BASE_DOMAIN, token=token)[0] == 200

    # When the time zone and the invoice prefix change through the first
    status, _ = first.json(
        "PATCH", "/tenants/me", host=host, token=token, body={"timezone": "Asia/Tokyo", "invoice_prefix": "BILL"}
    )
    assert status == 200

    # Then the second answers with the new settings on its next request, by host and by token
    for request_host in (host, settings.BASE_DOMAIN):
        status, body = second.json("GET", "/tenants/me", host=request_host, token=token)
        assert (status, body["timezone"], body["invoice_prefix"]) == (200, "Asia/Tokyo", "BILL")


def test_suspension_by_a_third_process_is_seen_by_every_process_at_once(committed_tenant, two_servers):
    host, token = committed_tenant.host, committed_tenant.owner_token
    assert statuses(two_servers, host=host, token=token) == [200, 200]

    tenant_services.set_tenant_status(tenant_id=committed_tenant.tenant.pk, status="suspended")

    assert statuses(two_servers, host=host, token=token) == [403, 403]
    assert statuses(two_servers, host=settings.BASE_DOMAIN, token=token) == [403, 403]

    tenant_services.set_tenant_status(tenant_id=committed_tenant.tenant.pk, status="active")

    assert statuses(two_servers, host=host, token=token) == [200, 200]


def test_a_business_registered_through_one_process_is_found_by_the_other_at_once(two_servers, unblocked_db):
    first, second = two_servers
    slug = f"fresh-{uuid.uuid4().hex[:12]}"
    host = f"{slug}.{settings.BASE_DOMAIN}"
    # Given the second process has just answered that this host is unknown
    assert second.request("GET", "/tenants/me", host=host)[0] == 404

    status, registered = first.json(
        "POST",
        "/auth/register",
        host=settings.BASE_DOMAIN,
        body={"business_name": "Fresh", "slug": slug, "email": f"owner@{slug}.test", "password": PASSWORD},
    )
    try:
        assert status == 201
        assert second.request("GET", "/tenants/me", host=host, token=registered["access_token"])[0] == 200
    finally:
        tenant_services.delete_tenant(tenant_id=Tenant.objects.get(slug=slug).pk)
        User.objects.filter(email=f"owner@{slug}.test").delete()


def test_a_member_removed_through_one_process_is_refused_by_the_other_at_once(committed_tenant, two_servers):
    # The membership cache lives in Redis, so it is shared already; this keeps it so.
    first, second = two_servers
    host, staff_token = committed_tenant.host, committed_tenant.staff_token
    assert statuses(two_servers, host=host, token=staff_token) == [200, 200]

    status, _ = first.request(
        "DELETE", f"/users/{committed_tenant.staff.pk}", host=host, token=committed_tenant.owner_token
    )

    assert status == 204
    assert statuses([second], host=host, token=staff_token) == [403]
