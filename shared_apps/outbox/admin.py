from django.contrib import admin

from shared_apps.outbox.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "actor_name", "schema_name", "created_at", "published_at", "attempts")
    list_filter = ("actor_name",)
