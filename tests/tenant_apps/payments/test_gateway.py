"""The Stripe gateway turns the SDK's errors into StripeFailure, the one exception the rest of
the payments app catches."""

import pytest
import stripe

from tenant_apps.payments.gateway import StripeFailure, stripe_failures


@pytest.mark.parametrize(
    ("error", "retryable"),
    [
        (stripe.APIConnectionError("Connection reset"), True),
        (stripe.RateLimitError("Too many requests", code="rate_limit"), True),
        (stripe.APIError("Stripe had a problem"), True),
        (stripe.InvalidRequestError("No such payment_intent: 'pi_x'", "id", code="resource_missing"), False),
        (stripe.CardError("Your card was declined.", "card", "card_declined"), False),
    ],
)
def test_sdk_errors_become_stripe_failures_that_say_whether_to_retry(error, retryable):
    with pytest.raises(StripeFailure) as failure, stripe_failures():
        raise error

    assert failure.value.retryable is retryable
    assert failure.value.code == error.code
    assert str(failure.value) == str(error)
    assert failure.value.__cause__ is error


def test_other_errors_pass_through_unchanged():
    with pytest.raises(KeyError), stripe_failures():
        raise KeyError("ours")
