from django.contrib import admin

from shared_apps.tenants.models import Domain, Tenant


class PublicHostOnlyAdminSite(admin.AdminSite):
    """Django admin only on the API host, and only for platform admins."""

    def has_permission(self, request) -> bool:
        return (
            getattr(request, "tenant", None) is None
            and request.user.is_active
            and getattr(request.user, "is_platform_admin", False)
        )


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("id", "slug", "name", "status", "schema_name", "timezone", "currency", "created_at")
    list_filter = ("status",)
    search_fields = ("slug", "name", "schema_name")
    readonly_fields = ("schema_name", "created_at", "activated_at")
    inlines = (DomainInline,)
