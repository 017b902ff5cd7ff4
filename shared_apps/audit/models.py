"""The audit trail: who did what sensitive thing to which business, from where, when."""

from django.db import models


class AuditEvent(models.Model):
    """One sensitive action. Append-only: a trigger in the database refuses UPDATE and DELETE
    (the retention purge alone may delete old rows, docs/audit.md). `tenant_id` is a plain
    column, not a foreign key: a business's trail outlives the business (its purge would
    otherwise cascade into rows the trigger protects), until retention ends it."""

    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_default=models.functions.Now())
    # None: a platform-wide action (an admin listing, a flag's global rollout, a failed login
    # that named no business).
    tenant_id = models.IntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    # `user:<id>` or a system actor (shared_apps/events/actors.py); user id kept for filters.
    actor = models.CharField(max_length=64)
    actor_user_id = models.IntegerField(null=True, blank=True)
    target = models.CharField(max_length=200, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            # A business's trail, newest first, a keyset page at a time.
            models.Index(fields=["tenant_id", "-id"], name="audit_tenant_newest"),
            models.Index(fields=["actor_user_id", "-id"], name="audit_actor_newest"),
            # The retention purge reads rows by age.
            models.Index(fields=["occurred_at"], name="audit_occurred_at"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor} (tenant {self.tenant_id})"
