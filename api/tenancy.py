"""Which tenant a request is for.

1. A tenant's own host, `<slug>.<BASE_DOMAIN>` or a verified custom domain, names the tenant
   through the Domain table.
2. On the API host (BASE_DOMAIN and its aliases), the `tenant` claim of a valid access token
   names it.
If both are present and disagree the request is refused (403); an unknown subdomain is 404.
The token is decoded here once and kept on the request for the route's authentication.
Lookups are cached in the process, so resolution adds no SQL beyond one `SET search_path`.
"""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware

from api.auth import ApiRequest
from api.errors import envelope
from shared_apps.accounts.tokens import AccessClaims, decode_access_token
from shared_apps.errors import NotAuthenticated, NotFound, PermissionDenied
from shared_apps.observability.context import tenant_var
from shared_apps.tenants import queries
from shared_apps.tenants.models import Tenant


def bearer_token(request: ApiRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class TenantResolutionMiddleware(TenantMainMiddleware):
    """Sets `request.tenant` (None on the API host without a tenant), `request.access_claims`
    (None without a valid token) and `request.token_error` (why a presented token failed)."""

    def process_request(self, request: ApiRequest) -> HttpResponse | None:
        connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
        request.tenant = None
        request.access_claims = None
        request.token_error = None

        token = bearer_token(request)
        claims: AccessClaims | None = None
        if token:
            try:
                claims = decode_access_token(token)
            except NotAuthenticated as error:
                request.token_error = error
        request.access_claims = claims

        try:
            tenant = resolve_tenant(hostname=self.hostname_from_request(request).lower(), claims=claims)
        except (NotFound, PermissionDenied) as error:
            status = 404 if isinstance(error, NotFound) else 403
            return envelope(request, status, error.message, [{"code": error.code}])
        if tenant is not None:
            request.tenant = tenant
            connection.set_tenant(tenant)  # type: ignore[attr-defined]  # django-tenants' database backend
            tenant_var.set(tenant.schema_name)
        return None


def is_api_host(hostname: str) -> bool:
    return hostname == settings.BASE_DOMAIN or hostname in settings.API_HOST_ALIASES


def resolve_tenant(*, hostname: str, claims: AccessClaims | None) -> Tenant | None:
    """The tenant a request (or a socket) to `hostname` with `claims` is for, or None on the
    API host without a tenant claim. A business's host that no tenant owns is NotFound; a token
    of another business on a business's host is PermissionDenied. The host was checked to be
    one we serve (api.middleware.AllowedHostsMiddleware, or the socket's own check)."""
    if is_api_host(hostname):
        tenant = queries.get_tenant_by_schema(schema_name=claims.tenant) if claims and claims.tenant else None
    else:
        tenant = queries.get_tenant_for_host(host=hostname)
        if tenant is None or tenant.status == Tenant.Status.POOLED:
            raise NotFound("Unknown business.", code="tenant_not_found")
        if claims and claims.tenant != tenant.schema_name:
            raise PermissionDenied("This token belongs to another business.", code="tenant_mismatch")
    return tenant if tenant is not None and tenant.status != Tenant.Status.POOLED else None


def require_api_host(request: ApiRequest) -> None:
    """For routes of the API host (registration, the providers' webhooks): a business's own
    host answers 404, and they run in the public schema even when a token named a tenant."""
    if not is_api_host(TenantMainMiddleware.hostname_from_request(request).lower()):
        raise NotFound("This route is on the API host only.", code="api_host_only")
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
