"""What platform admins changed about the flags declared in code (catalogue.py)."""

from django.db import models


class FlagRollout(models.Model):
    """Flag `flag` is on for `percent` % of businesses, chosen by a stable hash of the
    business (the same ones stay in as the percentage grows)."""

    flag = models.CharField(max_length=64, unique=True)
    percent = models.PositiveSmallIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.flag}: {self.percent}%"


class TenantFlag(models.Model):
    """Flag `flag` is on or off for one business, whatever the default and the rollout say."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    flag = models.CharField(max_length=64)
    enabled = models.BooleanField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant", "flag"], name="tenant_flag_once")]

    def __str__(self) -> str:
        return f"{self.flag} {'on' if self.enabled else 'off'} for tenant {self.tenant_id}"
