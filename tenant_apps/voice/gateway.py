"""The Vapi REST client: httpx (Vapi ships no Python SDK we could keep in the code path), to
api.vapi.ai with VAPI_API_KEY and to the loopback sandbox (devtools/vapi_sandbox.py) without
it. Every request has a timeout, and nothing is retried: Vapi has no idempotency key, so a
repeated `POST /call` would ring the customer twice; a dial with no answer is settled later by
looking the call up instead."""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings

from shared_apps.observability.metrics import REFUSED, UNAVAILABLE, provider_call

if TYPE_CHECKING:
    import httpx

TIMEOUT_SECONDS = 10
SANDBOX_API_KEY = "sandbox-vapi-key"
LIST_LIMIT = 1000  # Vapi's most per page
CALL_NAME_LENGTH = 40  # Vapi refuses a longer call or customer name


class VapiError(Exception):
    """Vapi refused the request (an HTTP error answer)."""

    def __init__(self, status_code: int, body: str):
        super().__init__(f"Vapi answered {status_code}: {body[:200]}")
        self.status_code = status_code


class VapiUnreachable(Exception):
    """No answer from Vapi (timeout, connection lost): whether it acted is unknown."""


def is_sandbox() -> bool:
    return not settings.VAPI_API_KEY


def vapi_http_client() -> "httpx.Client":
    # Imported on first use: httpx adds ~0.4 s to the start of every process that loads the
    # actors (scheduler, worker), and only the job that dials needs it.
    import httpx

    base_url = settings.VAPI_SANDBOX_URL if is_sandbox() else settings.VAPI_API_URL
    return httpx.Client(
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        headers={"Authorization": f"Bearer {settings.VAPI_API_KEY or SANDBOX_API_KEY}"},
        # httpx retries nothing by default; said explicitly because a retried POST /call dials twice.
        transport=httpx.HTTPTransport(retries=0),
    )


def _failure(error: Exception) -> str:
    """How a failed call counts in the provider metrics: Vapi away or throttling, or a refusal."""
    if isinstance(error, VapiError) and error.status_code < 500 and error.status_code != 429:
        return REFUSED
    return UNAVAILABLE


def create_call(
    *,
    assistant_id: str,
    phone_number_id: str,
    number: str,
    customer_name: str,
    name: str,
    metadata: dict[str, Any],
    variable_values: dict[str, Any],
    server: dict[str, Any],
    server_messages: list[str],
) -> dict[str, Any]:
    """`POST /call`: Vapi's Call (id, status...). `server` and `server_messages` override the
    saved assistant's, so the call's messages reach us whatever it says. Raises VapiError for
    an error answer and VapiUnreachable when the outcome is unknown (timeout, connection lost)."""
    body = {
        "name": name[:CALL_NAME_LENGTH],
        "assistantId": assistant_id,
        "phoneNumberId": phone_number_id,
        "customer": {"number": number, **({"name": customer_name[:CALL_NAME_LENGTH]} if customer_name else {})},
        "assistantOverrides": {
            "metadata": metadata,
            "variableValues": variable_values,
            "server": server,
            "serverMessages": server_messages,
        },
    }
    return _request("calls.create", "POST", json=body).json()


def list_calls(
    *, phone_number_id: str, created_at_gt: datetime, created_at_lt: datetime, limit: int = LIST_LIMIT
) -> list[dict[str, Any]]:
    """`GET /call` filtered by number and creation time (Vapi's list filters: `phoneNumberId`,
    `createdAtGt`, `createdAtLt`, `limit` up to 1000): Vapi's Call objects. Raises VapiError
    and VapiUnreachable like create_call."""
    params = {
        "phoneNumberId": phone_number_id,
        "createdAtGt": _iso(created_at_gt),
        "createdAtLt": _iso(created_at_lt),
        "limit": str(limit),
    }
    calls = _request("calls.list", "GET", params=params).json()
    return [call for call in calls if isinstance(call, dict)] if isinstance(calls, list) else []


def _request(operation: str, method: str, **options: Any) -> "httpx.Response":
    """One request to `/call`, timed as `operation` (a span, the latency and error metrics);
    an error answer raises VapiError, no answer VapiUnreachable."""
    import httpx

    with provider_call(provider="vapi", operation=operation, failure=_failure):
        try:
            with vapi_http_client() as client:
                response = client.request(method, "/call", **options)
        except httpx.HTTPError as error:
            raise VapiUnreachable(f"{type(error).__name__}: {error}") from error
        if response.is_error:
            raise VapiError(response.status_code, response.text)
    return response


def _iso(instant: datetime) -> str:
    """Vapi's timestamp format: UTC, milliseconds, `Z`."""
    return instant.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
