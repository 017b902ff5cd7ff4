"""The Stripe gateway: the only module that uses the SDK (the rest of the app calls its typed
functions and catches StripeFailure). Always the real SDK, talking to Stripe with
STRIPE_SECRET_KEY and to the loopback sandbox (devtools/stripe_sandbox.py) without it. Every call has a timeout, the SDK
retries network errors, 409s and 5xx twice, and every create carries our own idempotency key
(made from our row), so a retry replays the first answer instead of charging twice."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

import stripe
from django.conf import settings
from django.db import connection

from shared_apps.errors import Conflict, ProviderUnavailable
from shared_apps.observability.metrics import REFUSED, UNAVAILABLE, provider_call

logger = logging.getLogger("payments.stripe")

TIMEOUT_SECONDS = 10
MAX_NETWORK_RETRIES = 2
SANDBOX_SECRET_KEY = "sk_test_sandbox"  # noqa: S105 - the loopback sandbox accepts any sk_ key
# Stripe errors that may pass if the same request is sent again later.
RETRYABLE = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)

T = TypeVar("T")


class StripeFailure(Exception):
    """Stripe refused a call or could not answer it, in our terms: `code` is Stripe's error
        code, `user_message` its text for people, and `retryable` says the same request may pass
        later (connection lost, throttled, Stripe's own error). `declined` is a card refusal (with
    the bank's `decline_code`), `refused` a request Stripe will not take as sent."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None,
        user_message: str | None,
        retryable: bool,
        declined: bool = False,
        decline_code: str | None = None,
        refused: bool = False,
    ):
        super().__init__(message)
        self.code = code
        self.user_message = user_message
        self.retryable = retryable
        self.declined = declined
        self.decline_code = decline_code
        self.refused = refused


def _failure(error: Exception) -> str:
    """How a failed call counts in the provider metrics: Stripe away or throttling, or a refusal."""
    return REFUSED if isinstance(error, StripeFailure) and not error.retryable else UNAVAILABLE


@contextmanager
def stripe_failures(operation: str) -> Iterator[None]:
    """Time the SDK calls inside the block as one provider operation (a span, the latency and
    error metrics) and turn the SDK's errors into StripeFailure."""
    with provider_call(provider="stripe", operation=operation, failure=_failure):
        try:
            yield
        except stripe.StripeError as error:
            declined = isinstance(error, stripe.CardError)
            raise StripeFailure(
                str(error),
                code=error.code,
                user_message=error.user_message,
                retryable=isinstance(error, RETRYABLE),
                declined=declined,
                decline_code=getattr(error.error, "decline_code", None) if declined else None,
                refused=isinstance(error, stripe.InvalidRequestError),
            ) from error


def is_sandbox() -> bool:
    return not settings.STRIPE_SECRET_KEY


def is_live_mode() -> bool:
    """Whether our key moves real money (sk_live_/rk_live_); the sandbox is test mode."""
    return settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))


def stripe_client(*, http_client: stripe.HTTPClient | None = None) -> stripe.StripeClient:
    """A client for one job or request. `http_client` replaces the transport (tests mock it)."""
    http_client = http_client or stripe.RequestsClient(timeout=TIMEOUT_SECONDS)
    if is_sandbox():
        sandbox = settings.STRIPE_SANDBOX_URL.rstrip("/")
        return stripe.StripeClient(
            SANDBOX_SECRET_KEY,
            base_addresses={"api": sandbox, "connect": sandbox},
            max_network_retries=MAX_NETWORK_RETRIES,
            http_client=http_client,
        )
    return stripe.StripeClient(
        settings.STRIPE_SECRET_KEY, max_network_retries=MAX_NETWORK_RETRIES, http_client=http_client
    )


def current_schema() -> str:
    """The active tenant's schema name (django-tenants' database backend)."""
    return connection.schema_name  # type: ignore[attr-defined]


def idempotency_key(operation: str, row_id: int) -> str:
    """Stripe's Idempotency-Key for one business operation on one of our rows, unique across
    tenants (row ids repeat from schema to schema)."""
    return f"{operation}:{current_schema()}:{row_id}"


def call_stripe(call: Callable[[], T]) -> T:
    """Run one gateway call and say what went wrong in our terms: 503 when Stripe is away or
    throttling, 409 for a declined card or a refused request."""
    try:
        return call()
    except StripeFailure as error:
        if error.retryable:
            logger.warning("Stripe unavailable: %s", error)
            raise ProviderUnavailable("The card payment provider is unavailable; try again shortly.") from error
        if error.declined:
            raise Conflict(
                error.user_message or "The card was declined.",
                code="card_declined",
                details=[{"code": error.code, "decline_code": error.decline_code}],
            ) from error
        if error.refused:
            raise Conflict(
                error.user_message or "The card payment provider refused the request.",
                code="stripe_request_refused",
                details=[{"code": error.code}],
            ) from error
        raise


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


# -- Typed calls: the rest of the app calls Stripe only through these. Each raises StripeFailure.


def _on(account_id: str, key: str | None = None) -> dict[str, Any]:
    """Request options: the connected account the call acts on, and our idempotency key."""
    options: dict[str, Any] = {"stripe_account": account_id}
    if key is not None:
        options["idempotency_key"] = key
    return options


def create_account(*, tenant_schema: str, idempotency_key: str) -> dict[str, Any]:
    """A new standard connected account for the business."""
    with stripe_failures("accounts.create"):
        created = stripe_client().v1.accounts.create(
            params={"type": "standard", "metadata": {"tenant": tenant_schema}},
            options={"idempotency_key": idempotency_key},
        )
    return as_dict(created)


def create_account_link(*, account_id: str, return_url: str, refresh_url: str) -> str:
    """The URL of a one-time onboarding link (a link is single-use: no idempotency key)."""
    with stripe_failures("account_links.create"):
        link = stripe_client().v1.account_links.create(
            params={
                "account": account_id,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            }
        )
    return link.url


def retrieve_account(*, account_id: str) -> dict[str, Any]:
    with stripe_failures("accounts.retrieve"):
        return as_dict(stripe_client().v1.accounts.retrieve(account_id))


def create_payment_intent(
    *, account_id: str, amount: int, currency: str, fee: int, metadata: dict[str, str], idempotency_key: str
) -> stripe.PaymentIntent:
    """A PaymentIntent as a direct charge on the connected account, with the platform's fee."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": currency,
        "automatic_payment_methods": {"enabled": True},
        "metadata": metadata,
    }
    if fee:
        params["application_fee_amount"] = fee
    with stripe_failures("payment_intents.create"):
        return stripe_client().v1.payment_intents.create(
            params=params,  # type: ignore[arg-type]  # a plain dict of the documented params
            options=_on(account_id, idempotency_key),  # type: ignore[arg-type]
        )


def cancel_payment_intent(*, account_id: str, intent_id: str) -> None:
    """Cancel an intent nobody should pay any more (cancelling is idempotent at Stripe)."""
    with stripe_failures("payment_intents.cancel"):
        stripe_client().v1.payment_intents.cancel(
            intent_id,
            params={"cancellation_reason": "abandoned"},
            options=_on(account_id),  # type: ignore[arg-type]
        )


def retrieve_payment_intent(*, account_id: str, intent_id: str) -> dict[str, Any]:
    with stripe_failures("payment_intents.retrieve"):
        return as_dict(stripe_client().v1.payment_intents.retrieve(intent_id, options=_on(account_id)))  # type: ignore[arg-type]


def list_succeeded_intents(*, account_id: str, created_since: datetime) -> list[dict[str, Any]]:
    """Every succeeded intent of the account created at or after `created_since` (all pages)."""
    with stripe_failures("payment_intents.list"):
        listed = stripe_client().v1.payment_intents.list(
            params={"created": {"gte": int(created_since.timestamp())}, "limit": 100},
            options=_on(account_id),  # type: ignore[arg-type]
        )
        intents = [as_dict(intent) for intent in listed.auto_paging_iter()]
    return [intent for intent in intents if intent["status"] == "succeeded"]


def create_checkout_session(
    *,
    account_id: str,
    amount: int,
    currency: str,
    fee: int,
    product_name: str,
    metadata: dict[str, str],
    client_reference_id: str,
    success_url: str,
    cancel_url: str,
    idempotency_key: str,
) -> stripe.checkout.Session:
    """A hosted Checkout Session for one line on the connected account; its intent carries
    `metadata` (and the platform's fee) too."""
    intent_data: dict[str, Any] = {"metadata": metadata}
    if fee:
        intent_data["application_fee_amount"] = fee
    with stripe_failures("checkout.sessions.create"):
        return stripe_client().v1.checkout.sessions.create(
            params={  # type: ignore[arg-type]  # a plain dict of the documented params
                "mode": "payment",
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": currency,
                            "unit_amount": amount,
                            "product_data": {"name": product_name},
                        },
                    }
                ],
                "metadata": metadata,
                "client_reference_id": client_reference_id,
                "payment_intent_data": intent_data,
                "success_url": success_url,
                "cancel_url": cancel_url,
            },
            options=_on(account_id, idempotency_key),  # type: ignore[arg-type]
        )


def create_refund(
    *, account_id: str, payment_intent_id: str, amount: int, metadata: dict[str, str], idempotency_key: str
) -> dict[str, Any]:
    """A refund the business asked for, of part or all of a payment on the connected account."""
    with stripe_failures("refunds.create"):
        refund = stripe_client().v1.refunds.create(
            params={
                "payment_intent": payment_intent_id,
                "amount": amount,
                "reason": "requested_by_customer",
                "metadata": metadata,
            },
            options=_on(account_id, idempotency_key),  # type: ignore[arg-type]
        )
    return as_dict(refund)


def list_refunds(*, account_id: str, payment_intent_id: str) -> list[dict[str, Any]]:
    """Every refund of the intent (all pages)."""
    with stripe_failures("refunds.list"):
        listed = stripe_client().v1.refunds.list(
            params={"payment_intent": payment_intent_id, "limit": 100},
            options=_on(account_id),  # type: ignore[arg-type]
        )
        return [as_dict(refund) for refund in listed.auto_paging_iter()]


def retrieve_dispute(*, account_id: str, dispute_id: str) -> dict[str, Any]:
    with stripe_failures("disputes.retrieve"):
        return as_dict(stripe_client().v1.disputes.retrieve(dispute_id, options=_on(account_id)))  # type: ignore[arg-type]
