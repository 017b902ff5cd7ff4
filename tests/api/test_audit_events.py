"""The audit trail through the API: what is recorded (actor, business, address, user agent,
request id), and GET /audit-events (owners and admins) and /platform/audit-events."""

from datetime import timedelta

from django.utils import timezone

from shared_apps.accounts.models import User
from shared_apps.audit.models import AuditEvent
from tests.api.test_platform import platform_api  # noqa: F401 - fixture
from tests.conftest import PASSWORD
from tests.isolation import Route, TenantRouteCases, assert_refused

BROWSER = "Mozilla/5.0 (audit test)"
REQUEST_ID = "audit-request-0001"


def latest(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


class TestAuditEventsIsolation(TenantRouteCases):
    routes = [Route("GET", "/audit-events")]


def test_a_sign_in_is_recorded_with_its_origin(api_host, tenant_a):
    response = api_host.from_address("203.0.113.9").request(
        "POST",
        "/auth/login",
        {"email": tenant_a.owner.email, "password": PASSWORD},
        headers={"User-Agent": BROWSER, "X-Request-ID": REQUEST_ID},
    )

    assert response.status_code == 200
    row = latest("auth.login")
    assert (row.tenant_id, row.actor, row.actor_user_id) == (
        tenant_a.tenant.pk,
        f"user:{tenant_a.owner.pk}",
        tenant_a.owner.pk,
    )
    assert (row.ip, row.user_agent, row.request_id) == ("203.0.113.9", BROWSER, REQUEST_ID)
    assert timezone.now() - row.occurred_at < timedelta(minutes=1)


def test_a_refused_sign_in_is_recorded_for_the_business_it_named(api_host, tenant_a):
    response = api_host.post(
        "/auth/login", {"email": tenant_a.owner.email, "password": "wrong password", "tenant": tenant_a.slug}
    )

    assert_refused(response, 401)
    row = latest("auth.login_failed")
    assert row.tenant_id == tenant_a.tenant.pk
    assert row.details == {"email": tenant_a.owner.email, "reason": "bad_password"}
    assert row.actor == "system"


def test_an_unknown_email_is_recorded_platform_wide(api_host):
    assert_refused(api_host.post("/auth/login", {"email": "nobody@nowhere.test", "password": "x" * 12}), 401)

    row = latest("auth.login_failed")
    assert (row.tenant_id, row.details["reason"]) == (None, "unknown_email")


def test_reuse_of_a_refresh_token_is_recorded(api_host, tenant_a):
    first = api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD}).json()
    api_host.post("/auth/refresh", {"refresh_token": first["refresh_token"]})

    assert_refused(api_host.post("/auth/refresh", {"refresh_token": first["refresh_token"]}), 401)

    row = latest("auth.refresh_reused")
    assert (row.tenant_id, row.actor_user_id) == (tenant_a.tenant.pk, tenant_a.owner.pk)


def test_invitations_role_changes_and_removals_are_recorded(tenant_a, api_host):
    api = tenant_a.api()
    invited = api.post("/invitations", {"email": "helper@alpha.test", "role": "staff"}).json()
    revoked = api.post("/invitations", {"email": "gone@alpha.test", "role": "staff"}).json()
    api.delete(f"/invitations/{revoked['id']}")
    token = invited["accept_url"].rpartition("token=")[2]
    user_id = api_host.post("/auth/accept-invite", {"token": token, "password": PASSWORD}).json()["user"]["id"]

    api.patch(f"/users/{user_id}", {"role": "admin"})
    api.delete(f"/users/{user_id}")

    page = api.get("/audit-events", limit=10).json()
    actions = [item["action"] for item in page["items"]]
    assert actions[:6] == [
        "member.removed",
        "member.role_changed",
        "invitation.accepted",
        "invitation.revoked",
        "invitation.sent",
        "invitation.sent",
    ]
    role_change = page["items"][1]
    assert role_change["actor"] == f"user:{tenant_a.owner.pk}"
    assert role_change["target"] == f"user:{user_id}"
    assert role_change["details"] == {"role": {"before": "staff", "after": "admin"}}
    assert page["items"][2]["actor"] == f"user:{user_id}"


def test_a_settings_change_records_the_changed_fields_before_and_after(tenant_a):
    tenant_a.api().patch("/tenants/me", {"name": "Renamed", "timezone": "America/New_York", "quote_prefix": "QT"})

    row = latest("tenant.settings_changed")
    assert row.tenant_id == tenant_a.tenant.pk
    assert row.details == {
        "changed": {
            "name": {"before": "Alpha Services", "after": "Renamed"},
            "quote_prefix": {"before": "Q", "after": "QT"},
        }
    }


def test_filters_and_keyset_pages(tenant_a):
    api = tenant_a.api()
    for index in range(3):
        api.post("/invitations", {"email": f"person{index}@alpha.test", "role": "staff"})
    tenant_a.api(as_staff=True).get("/tenants/me")

    first = api.get("/audit-events", action="invitation.", actor=tenant_a.owner.pk, limit=2).json()
    second = api.get(
        "/audit-events", action="invitation.", actor=tenant_a.owner.pk, limit=2, cursor=first["next_cursor"]
    )
    future = api.get("/audit-events", since=(timezone.now() + timedelta(hours=1)).isoformat())
    past = api.get("/audit-events", until=(timezone.now() - timedelta(days=3650)).isoformat())

    emails = [item["details"]["email"] for item in first["items"] + second.json()["items"]]
    assert emails[:3] == ["person2@alpha.test", "person1@alpha.test", "person0@alpha.test"]
    assert first["next_cursor"] is not None
    assert all(item["action"].startswith("invitation.") for item in second.json()["items"])
    assert future.json() == {"items": [], "next_cursor": None}
    assert past.json()["items"] == []


def test_staff_may_not_read_the_trail(tenant_a):
    assert_refused(tenant_a.api(as_staff=True).get("/audit-events"), 403)


def test_a_business_never_sees_another_ones_rows_nor_uses_its_cursor(tenant_a, tenant_b):
    tenant_b.api().patch("/tenants/me", {"name": "Bravo Renamed"})
    for index in range(2):
        tenant_b.api().post("/invitations", {"email": f"b{index}@bravo.test", "role": "staff"})
    b_cursor = tenant_b.api().get("/audit-events", limit=1).json()["next_cursor"]

    seen = tenant_a.api().get("/audit-events", limit=200).json()["items"]
    on_api_host = tenant_a.api(on_api_host=True).get("/audit-events", limit=200).json()["items"]

    b_ids = set(AuditEvent.objects.filter(tenant_id=tenant_b.tenant.pk).values_list("id", flat=True))
    assert b_ids
    assert not b_ids & {item["id"] for item in seen + on_api_host}
    assert_refused(tenant_a.api().get("/audit-events", cursor=b_cursor), 400)


def test_a_bad_cursor_or_time_is_400(tenant_a):
    assert_refused(tenant_a.api().get("/audit-events", cursor="forged"), 400)
    assert_refused(tenant_a.api().get("/audit-events", since="yesterday"), 400)


def test_platform_admin_actions_are_recorded_in_the_business_trail(platform_api, tenant_a):  # noqa: F811 - the fixture
    url = f"/platform/tenants/{tenant_a.tenant.pk}"
    platform_api.patch(url, {"status": "suspended"})
    platform_api.patch(url, {"status": "active"})
    platform_api.delete(url)
    platform_api.post(f"{url}/restore")

    rows = list(AuditEvent.objects.filter(tenant_id=tenant_a.tenant.pk).order_by("-id")[:4])
    admin = User.objects.get(email="root@platform.test")
    assert [row.action for row in rows] == [
        "tenant.restored",
        "tenant.deletion_scheduled",
        "tenant.status_changed",
        "tenant.status_changed",
    ]
    assert {row.actor for row in rows} == {f"user:{admin.pk}"}


def test_platform_trail_lists_every_business_and_filters_by_one(platform_api, tenant_a, tenant_b):  # noqa: F811 - the fixture
    tenant_a.api().patch("/tenants/me", {"name": "Alpha Renamed"})
    tenant_b.api().patch("/tenants/me", {"name": "Bravo Renamed"})

    everything = platform_api.get("/platform/audit-events", action="tenant.settings_changed").json()["items"]
    only_b = platform_api.get("/platform/audit-events", tenant_id=tenant_b.tenant.pk, limit=200).json()["items"]

    assert {item["tenant_id"] for item in everything} >= {tenant_a.tenant.pk, tenant_b.tenant.pk}
    assert {item["tenant_id"] for item in only_b} == {tenant_b.tenant.pk}


def test_platform_trail_is_for_platform_admins_only(api_host, tenant_a):
    assert_refused(api_host.get("/platform/audit-events"), 401)
    assert_refused(tenant_a.api().get("/platform/audit-events"), 403)
    assert_refused(tenant_a.api(on_api_host=True).get("/platform/audit-events"), 403)
