from django.contrib import admin

from shared_apps.tenants.models import Domain, Tenant


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
