"""The Stripe client: always the real SDK, talking to Stripe with STRIPE_SECRET_KEY and to the
loopback sandbox (devtools/stripe_sandbox.py) without it. Every call has a timeout, the SDK
retries network errors, 409s and 5xx twice, and every create carries our own idempotency key
(made from our row), so a retry replays the first answer instead of charging twice."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import stripe
from django.conf import settings
from django.db import connection

from shared_apps.errors import Conflict, ProviderUnavailable

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
    later (connection lost, throttled, Stripe's own error)."""

    def __init__(self, message: str, *, code: str | None, user_message: str | None, retryable: bool):
        super().__init__(message)
        self.code = code
        self.user_message = user_message
        self.retryable = retryable


@contextmanager
def stripe_failures() -> Iterator[None]:
    """Turn the SDK's errors raised inside the block into StripeFailure."""
    try:
        yield
    except stripe.StripeError as error:
        raise StripeFailure(
            str(error), code=error.code, user_message=error.user_message, retryable=isinstance(error, RETRYABLE)
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
    """Run one SDK call (already retried by the SDK) and say what went wrong in our terms:
    503 when Stripe is away or throttling, 409 for a declined card or a refused request."""
    try:
        return call()
    except RETRYABLE as error:
        logger.warning("Stripe unavailable: %s", error)
        raise ProviderUnavailable("The card payment provider is unavailable; try again shortly.") from error
    except stripe.CardError as error:
        raise Conflict(
            error.user_message or "The card was declined.",
            code="card_declined",
            details=[{"code": error.code, "decline_code": getattr(error.error, "decline_code", None)}],
        ) from error
    except stripe.InvalidRequestError as error:
        raise Conflict(
            error.user_message or "The card payment provider refused the request.",
            code="stripe_request_refused",
            details=[{"code": error.code}],
        ) from error


def as_dict(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
