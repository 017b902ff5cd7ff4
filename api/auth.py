"""Authentication for Ninja routes. The token was decoded by the tenancy middleware; these
callables decide whether the caller may use a route and hand the route an `Actor`."""

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.http import HttpRequest
from ninja import Router
from ninja.operation import Operation

from shared_apps.accounts import revocation
from shared_apps.accounts import services as accounts
from shared_apps.accounts.tokens import AccessClaims
from shared_apps.errors import NotAuthenticated, PermissionDenied
from shared_apps.events import actors as event_actors
from shared_apps.observability.context import user_var
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.services import require_active_tenant


@dataclass(frozen=True)
class Actor:
    """Who is calling: the user, and for tenant routes the tenant and their current role."""

    user_id: int
    tenant: Tenant | None
    role: str | None

    @property
    def tenant_id(self) -> int:
        assert self.tenant is not None
        return self.tenant.pk


class ApiRequest(HttpRequest):
    """For type checks only: the request as this API's middleware (api/middleware.py,
    api/tenancy.py) and these auth callables leave it. Ninja passes the parameter named
    `request` whatever its annotation."""

    request_id: str
    unhandled_exception: BaseException | None
    tenant: Tenant | None
    access_claims: AccessClaims | None
    token_error: NotAuthenticated | None
    # What the route's auth callable returned: an `Actor`, whose tenant and role are set on
    # tenant routes. Any, so that routes need not re-check what their auth already guarantees.
    auth: Any


def require_unrevoked(claims: AccessClaims) -> None:
    """A token signed out of (its session or itself revoked) is refused, on HTTP and sockets."""
    if revocation.is_access_revoked(claims):
        raise NotAuthenticated("The access token was revoked (signed out).", code="token_revoked")


def _claims(request: ApiRequest) -> AccessClaims:
    if request.token_error is not None:
        raise request.token_error
    if request.access_claims is None:
        raise NotAuthenticated("Authentication required.")
    require_unrevoked(request.access_claims)
    user_var.set(str(request.access_claims.user_id))
    event_actors.set_actor(event_actors.user_actor(request.access_claims.user_id))
    return request.access_claims


class TenantMember:
    """A member of the request's tenant, optionally with one of `roles`. The role comes from
    the membership (cached, dropped on change), not from the token, so a demoted or removed
    member is refused on the next request."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, *roles: str):
        self.roles = frozenset(roles)

    def __call__(self, request: ApiRequest) -> Actor:
        return authorize_member(claims=_claims(request), tenant=request.tenant, roles=self.roles)

    def admits(self, role: str) -> bool:
        return not self.roles or role in self.roles


def authorize_member(*, claims: AccessClaims, tenant: Tenant | None, roles: frozenset[str] = frozenset()) -> Actor:
    """The member `claims` name in `tenant` (resolved by api.tenancy.resolve_tenant), with one
    of `roles` if any are given. Checked on every request and when a socket opens (and again
    while it stays open): the tenant must be active and the membership current."""
    if tenant is None or claims.tenant != tenant.schema_name:
        raise NotAuthenticated("This token is not for a business.", code="tenant_required")
    require_active_tenant(tenant=tenant)
    role = accounts.member_role(user_id=claims.user_id, tenant_id=tenant.pk)
    if role is None:
        raise PermissionDenied("You are not a member of this business.", code="not_a_member")
    if roles and role not in roles:
        raise PermissionDenied("Your role may not do this.", code="role_forbidden")
    return Actor(user_id=claims.user_id, tenant=tenant, role=role)


def read_operation(router: Router, path: str) -> Operation:
    """The GET operation of `router` at `path`."""
    return next(op for op in router.path_operations[path].operations if "GET" in op.methods)


def may_read(router: Router, path: str, role: str) -> bool:
    """Whether `role` passes the role check of the GET route `path` of `router` (a route with
    any other kind of auth refuses). Search and live updates show a role only what these
    routes would answer it, and keep no copy of their rules."""
    callbacks = read_operation(router, path).auth_callbacks
    return bool(callbacks) and all(
        isinstance(callback, TenantMember) and callback.admits(role) for callback in callbacks
    )


class SignedIn:
    """Any signed-in user, with or without a tenant (/auth/me, /auth/logout)."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: ApiRequest) -> Actor:
        claims = _claims(request)
        return Actor(user_id=claims.user_id, tenant=request.tenant, role=claims.role)


class PlatformAdmin:
    """A platform admin (a flag on the user, checked against the database). Their powers do not
    depend on memberships: a token that also names a tenant works too, and platform routes
    always run in the public schema, whatever tenant the token resolved."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __call__(self, request: ApiRequest) -> Actor:
        claims = _claims(request)
        user = accounts.get_user(user_id=claims.user_id)
        if not user.is_platform_admin:
            raise PermissionDenied("Platform admins only.", code="platform_admin_required")
        connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
        return Actor(user_id=user.pk, tenant=None, role=None)


member = TenantMember()
manager = TenantMember(*accounts.MANAGER_ROLES)
owner = TenantMember(accounts.OWNER_ROLE)
signed_in = SignedIn()
platform_admin = PlatformAdmin()
