"""Which tenant a request is for.

1. A tenant's own host, `<slug>.<BASE_DOMAIN>` or a verified custom domain, names the tenant
   through the Domain table.
2. On the API host (BASE_DOMAIN and its aliases), the `tenant` claim of a valid access token
   names it.
If both are present and disagree the request is refused (403); an unknown subdomain is 404.
The token is decoded here once and kept on the request for the route's authentication.
Lookups are cached in the process, so resolution adds no SQL beyond one `SET search_path`.
"""

from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django_tenants.middleware.main import TenantMainMiddleware

from api.auth import ApiRequest
from api.errors import envelope
from shared_apps.accounts.tokens import AccessClaims, decode_access_token
from shared_apps.errors import NotAuthenticated, NotFound
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

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        super().__init__(get_response)
        self.api_hosts = {settings.BASE_DOMAIN, *settings.API_HOST_ALIASES}

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

        hostname = self.hostname_from_request(request).lower()
        if hostname in self.api_hosts:
            tenant = queries.get_tenant_by_schema(schema_name=claims.tenant) if claims and claims.tenant else None
        else:
            # A subdomain or a tenant's own verified domain (api.middleware.AllowedHostsMiddleware
            # refused every other host).
            tenant = queries.get_tenant_for_host(host=hostname)
            if tenant is None or tenant.status == Tenant.Status.POOLED:
                return envelope(request, 404, "Unknown business.", [{"code": "tenant_not_found"}])
            if claims and claims.tenant != tenant.schema_name:
                return envelope(request, 403, "This token belongs to another business.", [{"code": "tenant_mismatch"}])

        if tenant is not None and tenant.status != Tenant.Status.POOLED:
            request.tenant = tenant
            connection.set_tenant(tenant)  # type: ignore[attr-defined]  # django-tenants' database backend
            tenant_var.set(tenant.schema_name)
        return None


def require_api_host(request: ApiRequest) -> None:
    """For routes of the API host (registration, the providers' webhooks): a business's own
    host answers 404, and they run in the public schema even when a token named a tenant."""
    hostname = TenantMainMiddleware.hostname_from_request(request).lower()
    if hostname != settings.BASE_DOMAIN and hostname not in settings.API_HOST_ALIASES:
        raise NotFound("This route is on the API host only.", code="api_host_only")
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' database backend
