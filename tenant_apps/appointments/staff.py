"""Staff: the members of the business an appointment, an availability query or a calendar
feed names by user id (users and memberships live in the public schema)."""

from shared_apps.accounts.services import member_role
from shared_apps.errors import NotFound
from shared_apps.tenants.models import Tenant


def require_staff(*, tenant: Tenant, staff_id: int) -> None:
    """NotFound, like any other tenant's row, when `staff_id` is not a member of `tenant`."""
    if member_role(user_id=staff_id, tenant_id=tenant.pk) is None:
        raise NotFound("Staff member not found.", details=[{"field": "staff_id"}])
