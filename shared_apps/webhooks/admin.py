from django.contrib import admin

from shared_apps.webhooks.models import ProviderRoute, WebhookEvent


@admin.register(ProviderRoute)
class ProviderRouteAdmin(admin.ModelAdmin):
    list_display = ("provider", "kind", "external_id", "tenant", "created_at")
    list_filter = ("provider", "kind")
    search_fields = ("external_id",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("id", "provider", "dedupe_key", "tenant", "status", "received_at", "attempts")
    list_filter = ("provider", "status")
    search_fields = ("dedupe_key",)
    exclude = ("body",)
