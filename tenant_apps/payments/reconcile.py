"""Nightly reconciliation of a business's Stripe account with the ledger: every intent that
succeeded since the last run (with a margin for Stripe's three days of retries) and has no
ledger row is recorded, so a webhook that never arrived loses no payment."""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone

from shared_apps.tenants.models import Tenant
from tenant_apps.payments import connect, gateway, intents
from tenant_apps.payments.models import Payment

logger = logging.getLogger("payments.reconcile")

# Intents created this long before the last run are looked at again (paid later, or their
# events still being retried by Stripe).
OVERLAP = timedelta(days=3)
# The first run looks back as far as Stripe keeps events.
FIRST_LOOKBACK = timedelta(days=30)


@dataclass
class Reconciliation:
    """What one run found: intents checked, payments it recorded, intents it could not place."""

    checked: int = 0
    recorded: list[str] = field(default_factory=list)
    unmatched: list[str] = field(default_factory=list)


def reconcile_stripe_payments(*, tenant: Tenant, now: datetime | None = None) -> Reconciliation:
    """Compare the connected account's succeeded intents with the ledger and record what is
    missing; logs and returns what it fixed. Nothing when the business has no account."""
    now = now or timezone.now()
    result = Reconciliation()
    account = connect.connected_account()  # a disconnected account gives us no access
    if account is None:
        return result
    since = (account.reconciled_until - OVERLAP) if account.reconciled_until else now - FIRST_LOOKBACK
    for intent in gateway.list_succeeded_intents(account_id=account.account_id, created_since=since):
        result.checked += 1
        if Payment.objects.filter(provider_id=intent["id"]).exists():
            continue
        attempt = intents.attempt_for_intent(intent)
        if attempt is None:
            result.unmatched.append(intent["id"])
            continue
        intents.record_card_payment(attempt=attempt, intent=intent)
        result.recorded.append(intent["id"])
    account.reconciled_until = now
    account.save(update_fields=["reconciled_until"])
    if result.recorded or result.unmatched:
        logger.warning(
            "Stripe reconciliation fixed the ledger",
            extra={"tenant": tenant.schema_name, "recorded": result.recorded, "unmatched": result.unmatched},
        )
    return result


def reconcile_daily(*, tenant: Tenant, now: datetime) -> int:
    """The daily job's rule: how many payments were recorded."""
    return len(reconcile_stripe_payments(tenant=tenant, now=now).recorded)
