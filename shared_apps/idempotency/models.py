"""Stored answers to creating POSTs sent with an Idempotency-Key."""

from django.db import models


class IdempotencyRecord(models.Model):
    """The first answer to (scope, key). `scope` names the tenant schema (or `public`) and the
    caller, so one tenant's keys never meet another's."""

    scope = models.CharField(max_length=200)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.BinaryField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key_unique")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"
