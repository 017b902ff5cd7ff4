import uuid
from datetime import datetime, timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_exists

from shared_apps.accounts.models import Membership, RefreshToken, User
from shared_apps.accounts.tokens import hash_refresh_token
from shared_apps.tenants.models import Domain, Tenant
from shared_apps.tenants.provisioning import refill_tenant_pool
from tests.api.generic import DeleteTests, ListTests, UpdateTests
from tests.conftest import PASSWORD
from tests.isolation import Route, assert_refused


def register(api_host, **overrides):
    body = {"business_name": "Zed Electric", "email": "zed@zed.test", "password": PASSWORD, "slug": "zed-electric"}
    return api_host.post("/auth/register", {**body, **overrides})


class TestUsersAPI(ListTests, UpdateTests, DeleteTests):
    path = "/users"
    routes = [
        Route("GET", "/users"),
        Route("PATCH", "/users/{id}", {"role": "admin"}),
        Route("DELETE", "/users/{id}"),
    ]
    object_routes = [Route("PATCH", "/users/{id}", {"role": "admin"}), Route("DELETE", "/users/{id}")]
    update_data = {"role": "admin"}
    update_expected = {"role": "admin"}
    # There is no GET /users/{id}: a removed member's second DELETE answers 404.
    gone_method = "DELETE"

    def make_object(self, owner):
        return owner.staff.pk

    def make_objects(self, owner, count):
        emails = [f"member-{uuid.uuid4().hex[:8]}@{owner.slug}.test" for _ in range(count)]
        users = User.objects.bulk_create(User(email=email) for email in emails)
        Membership.objects.bulk_create(
            Membership(tenant=owner.tenant, user=user, role=Membership.Role.STAFF) for user in users
        )
        return [user.pk for user in users]


def test_register_provisions_tenant_domain_and_owner(api_host):
    response = register(api_host, timezone="Europe/Paris", currency="eur")

    assert response.status_code == 201, response.content
    body = response.json()
    tenant = Tenant.objects.get(pk=body["tenant"]["id"])
    assert body["tenant"] == {
        "id": tenant.pk,
        "slug": "zed-electric",
        "name": "Zed Electric",
        "domain": "zed-electric.localhost",
    }
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == int(settings.JWT_EXPIRES_IN.total_seconds())
    assert schema_exists(tenant.schema_name)
    assert not tenant.schema_name.startswith("zed")
    assert Domain.objects.get(tenant=tenant).domain == "zed-electric.localhost"
    assert Membership.objects.get(tenant=tenant).role == "owner"
    assert User.objects.get(email="zed@zed.test").password.startswith("argon2")
    claims = jwt.decode(body["access_token"], settings.JWT_SECRET, algorithms=["HS256"])
    assert claims["tenant"] == tenant.schema_name
    assert claims["type"] == "access"
    assert {"sub", "role", "exp", "iat", "jti"} <= set(claims)


def test_a_registered_business_is_created_when_it_registers_not_when_its_pooled_schema_was(api_host):
    # Given a pooled schema made a month ago
    refill_tenant_pool(size=1)
    made_long_ago = timezone.now() - timedelta(days=30)
    Tenant.objects.filter(status=Tenant.Status.POOLED).update(created_at=made_long_ago)
    before = timezone.now()

    # When a business registers (and claims it)
    body = register(api_host).json()

    # Then its created_at is the registration
    tenant = Tenant.objects.get(pk=body["tenant"]["id"])
    assert tenant.created_at >= before
    assert tenant.created_at == tenant.activated_at
    shown = api_host.with_token(body["access_token"]).get("/tenants/me").json()["created_at"]
    assert datetime.fromisoformat(shown) >= before


def test_registered_token_works_on_new_subdomain(api_host):
    body = register(api_host).json()

    response = api_host.on_host("zed-electric.localhost").with_token(body["access_token"]).get("/tenants/me")

    assert response.status_code == 200
    assert response.json()["name"] == "Zed Electric"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "short"}, "password"),
        ({"password": "password123456"}, "password"),
        ({"slug": "-bad-"}, "slug"),
        ({"slug": "www"}, "slug"),
        ({"email": "not-an-email"}, "email"),
        ({"timezone": "Nowhere/Land"}, "timezone"),
        ({"currency": "zzz"}, "currency"),
    ],
)
def test_register_rejects_bad_input_with_400(api_host, overrides, field):
    body = assert_refused(register(api_host, **overrides), 400)

    assert body["errors"][0]["field"] == field
    assert not Tenant.objects.filter(slug="zed-electric").exists()


def test_register_taken_slug_or_email_is_409(api_host, tenant_a):
    slug_taken = assert_refused(register(api_host, slug=tenant_a.slug), 409)
    email_taken = assert_refused(register(api_host, email=tenant_a.owner.email), 409)

    assert slug_taken["errors"] == [{"code": "slug_taken", "field": "slug"}]
    assert email_taken["errors"] == [{"code": "email_taken", "field": "email"}]


def test_login_with_one_membership(api_host, tenant_a):
    response = api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD})

    assert response.status_code == 200
    assert response.json()["tenant"]["slug"] == tenant_a.slug


def test_login_failures_share_one_message(api_host, tenant_a):
    unknown = assert_refused(api_host.post("/auth/login", {"email": "nobody@x.test", "password": PASSWORD}), 401)
    wrong = assert_refused(
        api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": "wrong-pass-1"}), 401
    )

    assert unknown["message"] == wrong["message"]


def test_login_of_member_of_two_tenants_needs_a_choice(api_host, tenant_a, tenant_b):
    Membership.objects.create(user=tenant_a.owner, tenant=tenant_b.tenant, role="staff")

    body = assert_refused(api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD}), 400)
    chosen = api_host.post(
        "/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD, "tenant": tenant_b.slug}
    )

    assert body["errors"][0]["choices"] == sorted([tenant_a.slug, tenant_b.slug])
    assert chosen.status_code == 200
    assert chosen.json()["tenant"]["slug"] == tenant_b.slug


def test_login_to_suspended_tenant_is_403(api_host, tenant_a):
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(status="suspended")

    assert_refused(api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD}), 403)


def test_refresh_rotates_and_reuse_revokes_family(api_host, tenant_a):
    first = api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD}).json()

    second = api_host.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    reused = api_host.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    after_theft = api_host.post("/auth/refresh", {"refresh_token": second.json()["refresh_token"]})

    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    assert_refused(reused, 401)
    assert_refused(after_theft, 401)
    family = RefreshToken.objects.get(token_hash=hash_refresh_token(first["refresh_token"])).family
    assert not RefreshToken.objects.filter(family=family, revoked_at__isnull=True).exists()


def test_logout_revokes_refresh_token(api_host, tenant_a):
    tokens = api_host.post("/auth/login", {"email": tenant_a.owner.email, "password": PASSWORD}).json()
    client = api_host.with_token(tokens["access_token"])

    logout = client.post("/auth/logout", {"refresh_token": tokens["refresh_token"]})
    refresh = api_host.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]})

    assert logout.status_code == 204
    assert_refused(refresh, 401)


def test_me_lists_memberships(tenant_a):
    response = tenant_a.api(on_api_host=True).get("/auth/me")

    assert response.status_code == 200
    assert response.json()["user"]["email"] == tenant_a.owner.email
    assert response.json()["memberships"] == [{"tenant": "alpha", "tenant_name": "Alpha Services", "role": "owner"}]


def test_owner_invites_changes_and_removes_a_user(tenant_a, api_host):
    api = tenant_a.api()

    invited = api.post("/invitations", {"email": "Helper@Alpha.test", "role": "staff"})
    token = invited.json()["accept_url"].rpartition("token=")[2]
    joined = api_host.post("/auth/accept-invite", {"token": token, "password": PASSWORD})
    user_id = joined.json()["user"]["id"]
    promoted = api.patch(f"/users/{user_id}", {"role": "admin"})
    listed = api.get("/users")
    removed = api.delete(f"/users/{user_id}")

    assert invited.status_code == 201
    assert invited.json()["email"] == "helper@alpha.test"
    assert joined.status_code == 200
    assert promoted.json()["role"] == "admin"
    assert {item["email"] for item in listed.json()["items"]} >= {"helper@alpha.test", tenant_a.owner.email}
    assert removed.status_code == 204
    assert not Membership.objects.filter(user_id=user_id, tenant=tenant_a.tenant).exists()


def test_staff_may_not_manage_users(tenant_a):
    api = tenant_a.api(as_staff=True)

    assert_refused(api.get("/users"), 403)
    assert_refused(api.post("/invitations", {"email": "x@x.test", "role": "staff"}), 403)
    assert_refused(api.delete(f"/users/{tenant_a.owner.pk}"), 403)


def test_last_owner_cannot_be_demoted_or_removed(tenant_a):
    api = tenant_a.api()

    assert_refused(api.patch(f"/users/{tenant_a.owner.pk}", {"role": "staff"}), 409)
    assert_refused(api.delete(f"/users/{tenant_a.owner.pk}"), 409)


def test_removed_member_loses_access_on_next_request(tenant_a):
    staff_api = tenant_a.api(as_staff=True)
    assert staff_api.get("/tenants/me").status_code == 200

    tenant_a.api().delete(f"/users/{tenant_a.staff.pk}")

    assert_refused(staff_api.get("/tenants/me"), 403)


def test_demoted_admin_loses_manager_routes_at_once(tenant_a):
    tenant_a.api().patch(f"/users/{tenant_a.staff.pk}", {"role": "admin"})
    assert tenant_a.api(as_staff=True).get("/users").status_code == 200

    tenant_a.api().patch(f"/users/{tenant_a.staff.pk}", {"role": "staff"})

    assert_refused(tenant_a.api(as_staff=True).get("/users"), 403)
