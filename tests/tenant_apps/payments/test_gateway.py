"""The Stripe gateway turns the SDK's errors into StripeFailure, the one exception the rest of
the payments app catches."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import stripe

from shared_apps.errors import Conflict, ProviderUnavailable
from tenant_apps.payments import gateway
from tenant_apps.payments.gateway import StripeFailure, call_stripe, stripe_failures


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
    with pytest.raises(StripeFailure) as failure, stripe_failures("payment_intents.create"):
        raise error

    assert failure.value.retryable is retryable
    assert failure.value.code == error.code
    assert str(failure.value) == str(error)
    assert failure.value.__cause__ is error


def test_other_errors_pass_through_unchanged():
    with pytest.raises(KeyError), stripe_failures("payment_intents.create"):
        raise KeyError("ours")


def test_a_declined_card_and_a_refused_request_say_so():
    declined = stripe.CardError(
        "Your card has insufficient funds.",
        None,
        "card_declined",
        json_body={"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"}},
    )
    with pytest.raises(StripeFailure) as card, stripe_failures("payment_intents.create"):
        raise declined
    with pytest.raises(StripeFailure) as request, stripe_failures("payment_intents.create"):
        raise stripe.InvalidRequestError("No such payment_intent: 'pi_x'", "id", code="resource_missing")

    assert (card.value.declined, card.value.decline_code, card.value.refused) == (True, "insufficient_funds", False)
    assert (request.value.declined, request.value.decline_code, request.value.refused) == (False, None, True)


def _failure(**kwargs):
    def call():
        raise StripeFailure("from Stripe", **{"code": None, "user_message": None, "retryable": False, **kwargs})

    return call


def test_call_stripe_answers_503_for_a_retryable_failure_and_409_for_a_declined_card_or_refused_request():
    with pytest.raises(ProviderUnavailable):
        call_stripe(_failure(retryable=True))
    with pytest.raises(Conflict) as card:
        call_stripe(_failure(code="card_declined", declined=True, decline_code="insufficient_funds"))
    with pytest.raises(Conflict) as request:
        call_stripe(_failure(code="parameter_invalid_integer", refused=True, user_message="Bad amount."))
    with pytest.raises(StripeFailure):  # our key refused, say: not the customer's doing
        call_stripe(_failure(code="api_key_expired"))

    assert (card.value.code, card.value.details) == (
        "card_declined",
        [{"code": "card_declined", "decline_code": "insufficient_funds"}],
    )
    assert (request.value.code, request.value.message) == ("stripe_request_refused", "Bad amount.")
    assert call_stripe(lambda: "answer") == "answer"


def test_the_typed_calls_answer_plain_data_and_raise_stripe_failure(stripe_sandbox):
    account = gateway.create_account(tenant_schema="tenant_gw", idempotency_key="connect:tenant_gw")
    again = gateway.create_account(tenant_schema="tenant_gw", idempotency_key="connect:tenant_gw")

    assert account["id"].startswith("acct_")
    assert again["id"] == account["id"]  # our idempotency key replays the first answer
    assert gateway.retrieve_account(account_id=account["id"])["id"] == account["id"]
    assert (
        gateway.list_succeeded_intents(account_id=account["id"], created_since=datetime(2020, 1, 1, tzinfo=UTC)) == []
    )
    with pytest.raises(StripeFailure) as missing:
        gateway.retrieve_payment_intent(account_id=account["id"], intent_id="pi_missing")
    assert (missing.value.code, missing.value.refused, missing.value.retryable) == ("resource_missing", True, False)


def test_no_module_but_the_gateway_makes_a_stripe_client():
    source_root = Path(gateway.__file__).resolve().parents[2]
    callers = [
        path.relative_to(source_root)
        for package in ("api", "shared_apps", "tenant_apps", "tasks")
        for path in (source_root / package).rglob("*.py")
        if "stripe_client(" in path.read_text() and path.resolve() != Path(gateway.__file__).resolve()
    ]

    assert callers == []
