from django.contrib import admin

from shared_apps.accounts.models import Invitation, Membership, RefreshToken, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("tenant",)


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("id", "email", "full_name", "is_active", "is_platform_admin", "created_at")
    search_fields = ("email", "full_name")
    list_filter = ("is_active", "is_platform_admin")
    exclude = ("password", "groups", "user_permissions")
    inlines = (MembershipInline,)


@admin.register(RefreshToken)
class RefreshTokenAdmin(admin.ModelAdmin):
    list_display = ("id", "user", "tenant", "family", "created_at", "used_at", "revoked_at")
    readonly_fields = ("token_hash", "family", "user", "tenant", "created_at", "expires_at", "used_at")


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("id", "email", "tenant", "role", "created_at", "expires_at", "accepted_at", "revoked_at")
    search_fields = ("email",)
    exclude = ("token_hash",)
    readonly_fields = ("tenant", "email", "role", "invited_by", "created_at", "accepted_at", "accepted_by")
