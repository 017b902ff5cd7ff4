"""Tenant isolation tests every tenant route inherits: another tenant's token or host gets 404.

A test module declares its routes and, for routes about one row, how to make that row:

    class TestCustomerIsolation(TenantRouteCases):
        routes = [Route("GET", "/customers"), Route("POST", "/customers", {"name": "X"})]
        object_routes = [Route("GET", "/customers/{id}"), Route("DELETE", "/customers/{id}")]

        def make_object(self, owner: TestTenant) -> int:
            with owner.schema():
                return CustomerFactory().pk

and inherits: no token, another tenant's token on this tenant's host, this tenant's token on
another tenant's host, a tampered claim, `alg: none`, an expired token, a refresh token used as
an access token, a suspended tenant, and for object routes another tenant reaching the row by
id on the API host and on its own host. None may answer 2xx or 500. Modules with CRUD routes
get these through the generic API cases of tests/api/generic.py.
"""

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import jwt
from django.conf import settings

from shared_apps.tenants import services as tenant_services
from shared_apps.tenants.models import Tenant
from tests.client import ApiClient
from tests.conftest import TestTenant


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    body: Any = None

    def call(self, client: ApiClient, **ids: Any):
        return client.request(self.method, self.path.format(**ids), self.body)


def assert_refused(response, *statuses: int) -> dict:
    """The response is one of `statuses`, in the error envelope."""
    assert response.status_code in statuses, (response.status_code, response.content[:500])
    body = response.json()
    assert body["statusCode"] == response.status_code
    assert set(body) >= {"statusCode", "timestamp", "message", "errors", "path", "requestId"}
    return body


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def tampered_token(token: str, **changes: Any) -> str:
    """The token with its payload edited and the original signature kept."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims.update(changes)
    return f"{header}.{_b64(claims)}.{signature}"


def unsigned_token(token: str) -> str:
    """The same claims with `alg: none` and no signature."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def expired_token(token: str) -> str:
    """The same claims, properly signed, expired a minute ago."""
    claims = jwt.decode(token, options={"verify_signature": False})
    now = datetime.now(tz=UTC)
    claims.update(iat=now - timedelta(hours=1), exp=now - timedelta(minutes=1))
    return jwt.encode(claims, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)


class TenantRouteCases:
    routes: ClassVar[list[Route]] = []
    object_routes: ClassVar[list[Route]] = []

    def make_object(self, owner: TestTenant) -> Any:
        """Create one row in `owner`'s schema and return its id (for `object_routes`)."""
        raise NotImplementedError

    def test_without_token_is_401(self, route: Route, tenant_a: TestTenant):
        assert_refused(route.call(tenant_a.api().with_token(None), id=0), 401)

    def test_other_tenants_token_on_this_host_is_403(self, route: Route, tenant_a: TestTenant, tenant_b: TestTenant):
        assert_refused(route.call(tenant_a.api().with_token(tenant_b.owner_token), id=0), 403)

    def test_this_tenants_token_on_other_host_is_403(self, route: Route, tenant_a: TestTenant, tenant_b: TestTenant):
        assert_refused(route.call(tenant_b.api().with_token(tenant_a.owner_token), id=0), 403)

    def test_tampered_tenant_claim_is_401(self, route: Route, tenant_a: TestTenant, tenant_b: TestTenant):
        forged = tampered_token(tenant_a.owner_token, tenant=tenant_b.tenant.schema_name)
        assert_refused(route.call(tenant_b.api(on_api_host=True).with_token(forged), id=0), 401)

    def test_alg_none_is_401(self, route: Route, tenant_a: TestTenant):
        assert_refused(
            route.call(tenant_a.api(on_api_host=True).with_token(unsigned_token(tenant_a.owner_token)), id=0), 401
        )

    def test_expired_token_is_401(self, route: Route, tenant_a: TestTenant):
        assert_refused(route.call(tenant_a.api().with_token(expired_token(tenant_a.owner_token)), id=0), 401)

    def test_refresh_token_as_access_token_is_401(self, route: Route, tenant_a: TestTenant):
        assert_refused(route.call(tenant_a.api().with_token(tenant_a.owner_refresh_token), id=0), 401)

    def test_suspended_tenant_is_403(self, route: Route, tenant_a: TestTenant):
        tenant_services.set_tenant_status(tenant_id=tenant_a.tenant.pk, status=Tenant.Status.SUSPENDED)
        assert_refused(route.call(tenant_a.api(), id=0), 403)

    def test_other_tenant_cannot_reach_object_by_id(
        self, object_route: Route, tenant_a: TestTenant, tenant_b: TestTenant
    ):
        object_id = self.make_object(tenant_a)
        assert_refused(object_route.call(tenant_b.api(on_api_host=True), id=object_id), 404)
        assert_refused(object_route.call(tenant_b.api(), id=object_id), 404)
