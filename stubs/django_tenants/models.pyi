# The two abstract models of django-tenants (which ships no types), so that the django-stubs
# plugin sees Tenant and Domain as models. The rest of the package stays untyped (pyproject.toml).
from typing import Any, ClassVar

from django.db import models

class TenantMixin(models.Model):
    auto_drop_schema: ClassVar[bool]
    auto_create_schema: ClassVar[bool]
    schema_name = models.CharField(max_length=63, unique=True)
    domain_url: str | None
    class Meta:
        abstract = True

    def activate(self) -> None: ...
    @classmethod
    def deactivate(cls) -> None: ...
    def create_schema(self, check_if_exists: bool = ..., sync_schema: bool = ..., verbosity: int = ...) -> bool: ...
    def get_primary_domain(self) -> Any: ...

class DomainMixin(models.Model):
    domain = models.CharField(max_length=253, unique=True)
    tenant: Any
    is_primary = models.BooleanField(default=True)
    class Meta:
        abstract = True
