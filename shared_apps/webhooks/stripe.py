"""Stripe's webhooks on the pipeline: `Stripe-Signature` verified by the SDK on the raw body
(300 s tolerance) with the Connect endpoint's or the account endpoint's secret, each with its
previous secret while a rolled one still signs; stored once per event id, owned by the tenant
whose connected account (`event.account`) is in the routing table, never by metadata."""

import json
import logging
import time

import stripe
from django.conf import settings

from shared_apps.errors import ValidationFailed
from shared_apps.webhooks.services import RecordedEvent, record_webhook_event

logger = logging.getLogger("webhooks.stripe")

PROVIDER = "stripe"
# Route kind: a tenant's connected account id (acct_...).
ACCOUNT_KIND = "account"
TOLERANCE_SECONDS = 300


def webhook_secrets() -> list[str]:
    """Every secret a genuine delivery may be signed with, the Connect endpoint's first."""
    candidates = (
        settings.STRIPE_CONNECT_WEBHOOK_SECRET,
        settings.STRIPE_CONNECT_WEBHOOK_SECRET_PREVIOUS,
        settings.STRIPE_WEBHOOK_SECRET,
        settings.STRIPE_WEBHOOK_SECRET_PREVIOUS,
    )
    return [secret for secret in candidates if secret]


def _signed_at(signature: str) -> int | None:
    """The `t=` timestamp of a Stripe-Signature header (None when it has none that parses)."""
    for item in signature.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def verify_stripe_signature(*, body: bytes, signature: str | None, now: float | None = None) -> bool:
    """True when `signature` is a Stripe-Signature of `body` by one of our secrets, signed
    within the tolerance either side of `now`: the SDK refuses only old ones, and a signature
    dated ahead would stay valid for as long as it is ahead."""
    if not signature:
        return False
    signed_at = _signed_at(signature)
    if signed_at is None or signed_at > (time.time() if now is None else now) + TOLERANCE_SECONDS:
        return False
    payload = body.decode("utf-8", errors="replace")
    for secret in webhook_secrets():
        try:
            stripe.WebhookSignature.verify_header(payload, signature, secret, TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError:
            continue
        return True
    return False


def receive_stripe_webhook(*, body: bytes, signature: str | None, content_type: str) -> RecordedEvent:
    """Verify and store one Stripe delivery, deduplicated by event id. Raises ValidationFailed
    (400) for a forged, stale or unsigned request, or one that is not an event, before
    anything is stored."""
    if not verify_stripe_signature(body=body, signature=signature):
        logger.warning("Refused a Stripe webhook with a missing, invalid or stale signature")
        raise ValidationFailed("Invalid Stripe signature.", code="invalid_signature")
    try:
        event = json.loads(body)
        event_id = event["id"]
    except (ValueError, KeyError, TypeError) as error:
        raise ValidationFailed("Not a Stripe event.", details=[{"field": "id", "message": "Missing."}]) from error
    if not isinstance(event_id, str) or not event_id:
        raise ValidationFailed("Not a Stripe event.", details=[{"field": "id", "message": "Missing."}])
    account = event.get("account") if isinstance(event.get("account"), str) else ""
    return record_webhook_event(
        provider=PROVIDER,
        dedupe_key=event_id,
        route_candidates=[(ACCOUNT_KIND, account)],
        body=body,
        content_type=content_type,
    )
