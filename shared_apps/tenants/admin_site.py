"""The Django admin site: platform admins only, and only on the API host."""

import functools

from django.contrib import admin


class PublicHostOnlyAdminSite(admin.AdminSite):
    """Django admin only on the API host, and only for platform admins."""

    def has_permission(self, request) -> bool:
        return (
            getattr(request, "tenant", None) is None
            and request.user.is_active
            and getattr(request.user, "is_platform_admin", False)
        )

    def admin_view(self, view, cacheable=False):
        protected = super().admin_view(view, cacheable)

        @functools.wraps(protected)
        def on_public_schema(request, *args, **kwargs):
            # django-tenants' admin templates take a request without a `tenant` attribute for the
            # public schema; on the API host ours carries `tenant = None`, which they cannot read.
            if hasattr(request, "tenant") and request.tenant is None:
                del request.tenant
            return protected(request, *args, **kwargs)

        return on_public_schema
