"""The business's own Stripe account (Stripe Connect, standard): onboarding, its state as
Stripe reports it, and disconnection. Charges and refunds go to the connected account only."""

from typing import Any

from django.db import transaction
from django.db.models import F, Subquery
from django.utils import timezone

from shared_apps.audit import services as audit
from shared_apps.errors import Conflict
from shared_apps.flags import catalogue as flag_names
from shared_apps.flags import services as flags
from shared_apps.tenants.models import Tenant
from shared_apps.tenants.queries import current_tenant_id
from shared_apps.webhooks import services as webhooks
from shared_apps.webhooks.stripe import ACCOUNT_KIND, PROVIDER
from tenant_apps.payments import gateway
from tenant_apps.payments.gateway import call_stripe
from tenant_apps.payments.models import CardPayment, Payment, StripeAccount


def connected_account() -> StripeAccount | None:
    """The business's connected Stripe account (current schema), if it has one."""
    return StripeAccount.objects.filter(disconnected_at__isnull=True).first()


def shown_account() -> StripeAccount | None:
    """The account the owner sees: the connected one, else the one disconnected last."""
    return StripeAccount.objects.order_by(F("disconnected_at").desc(nulls_first=True), "-id").first()


def connect_stripe_account(*, tenant: Tenant, return_url: str, refresh_url: str) -> str:
    """An onboarding link for the business's own Stripe account, made on first use (and
    again after the business disconnected us: Stripe gives a deauthorized platform no access
    to the old one) and claimed in the routing table (its events reach this tenant only).
    Refused while card payments are switched off for the business."""
    flags.require_enabled(flag_names.CARD_PAYMENTS, tenant_id=tenant.pk)
    account = connected_account()
    if account is None:
        # One key per connection: a retry replays it, a reconnection makes a new account.
        previous = StripeAccount.objects.count()
        key = f"connect:{tenant.schema_name}" + (f":{previous}" if previous else "")
        created = call_stripe(lambda: gateway.create_account(tenant_schema=tenant.schema_name, idempotency_key=key))
        with transaction.atomic():
            account, made = StripeAccount.objects.get_or_create(account_id=created["id"])
            if made:
                audit.record(
                    tenant_id=current_tenant_id(),
                    action="stripe.connected",
                    target=f"stripe_account:{account.account_id}",
                )
            update_account_state(account=account, data=created)
            # Stripe announces a new account at once, before this route exists: those events
            # were stored unrouted and are processed now.
            webhooks.claim_route_and_release_held_events(
                tenant=tenant, provider=PROVIDER, kind=ACCOUNT_KIND, external_id=created["id"]
            )
    return call_stripe(
        lambda: gateway.create_account_link(
            account_id=account.account_id, return_url=return_url, refresh_url=refresh_url
        )
    )


def update_account_state(*, account: StripeAccount, data: dict[str, Any]) -> StripeAccount:
    """Copy what Stripe says of the account (charges and payouts enabled, details submitted)."""
    account.charges_enabled = bool(data.get("charges_enabled"))
    account.payouts_enabled = bool(data.get("payouts_enabled"))
    account.details_submitted = bool(data.get("details_submitted"))
    account.disabled_reason = ((data.get("requirements") or {}).get("disabled_reason") or "")[:255]
    account.save(update_fields=["charges_enabled", "payouts_enabled", "details_submitted", "disabled_reason"])
    return account


def disconnect_account(*, account: StripeAccount) -> StripeAccount:
    """The business disconnected our platform from its account: nothing more is charged on
    it. Its route stays, so its late events still reach this tenant (and only it)."""
    if account.disconnected_at is None:
        account.disconnected_at = timezone.now()
        account.charges_enabled = False
        account.payouts_enabled = False
        account.save(update_fields=["disconnected_at", "charges_enabled", "payouts_enabled", "updated_at"])
        audit.record(
            tenant_id=current_tenant_id(), action="stripe.disconnected", target=f"stripe_account:{account.account_id}"
        )
    return account


def payment_account(*, payment: Payment) -> StripeAccount | None:
    """The account a card payment was made on, while it is connected (refunds go there)."""
    made_on = CardPayment.objects.filter(payment_intent_id=payment.provider_id).values("account_id")[:1]
    return StripeAccount.objects.filter(account_id=Subquery(made_on), disconnected_at__isnull=True).first()


def not_connected(account_id: str | None = None) -> Conflict:
    return Conflict(
        "Connect a Stripe account that can take card payments first.",
        code="stripe_not_connected",
        details=[{"account_id": account_id}],
    )


def card_payments_enabled() -> bool:
    """Whether the active business takes card payments at all (its card_payments flag)."""
    return flags.is_enabled(flag_names.CARD_PAYMENTS, tenant_id=current_tenant_id())


def require_card_payments() -> None:
    """Refuse (409 `integration_disabled`) Stripe work of a business whose card payments are
    switched off (its card_payments flag)."""
    flags.require_enabled(flag_names.CARD_PAYMENTS, tenant_id=current_tenant_id())


def require_charges_enabled() -> StripeAccount:
    require_card_payments()
    account = connected_account()
    if account is None or not account.charges_enabled:
        raise not_connected(account.account_id if account else None)
    return account
