"""Two owners taking the owner role from each other at once, over real parallel connections:
exactly one succeeds and the business always keeps an owner."""

import pytest

from shared_apps.accounts import services as accounts
from shared_apps.accounts.models import Membership
from shared_apps.errors import Conflict
from tests.concurrency import run_at_once

TRIALS = 5
OWNER = Membership.Role.OWNER


def demote(*, tenant_id: int, user_id: int) -> None:
    accounts.change_member_role(tenant_id=tenant_id, actor_role=OWNER, user_id=user_id, role=Membership.Role.ADMIN)


def remove(*, tenant_id: int, user_id: int) -> None:
    accounts.remove_member(tenant_id=tenant_id, actor_role=OWNER, user_id=user_id)


@pytest.mark.concurrency
@pytest.mark.parametrize(("first", "second"), [(demote, demote), (remove, remove), (demote, remove)])
def test_two_owners_taking_each_others_role_at_once_leave_one_owner(committed_tenant, first, second):
    tenant_id = committed_tenant.tenant.pk
    owner_ids = [committed_tenant.owner.pk, committed_tenant.staff.pk]
    for _ in range(TRIALS):
        for user_id in owner_ids:
            Membership.objects.update_or_create(tenant_id=tenant_id, user_id=user_id, defaults={"role": OWNER})

        outcomes = run_at_once(
            [
                lambda: first(tenant_id=tenant_id, user_id=owner_ids[1]),
                lambda: second(tenant_id=tenant_id, user_id=owner_ids[0]),
            ],
            expected=Conflict,
        )

        assert sorted(outcome.code if isinstance(outcome, Conflict) else "done" for outcome in outcomes) == [
            "done",
            "last_owner",
        ]
        assert Membership.objects.filter(tenant_id=tenant_id, role=OWNER).count() == 1
