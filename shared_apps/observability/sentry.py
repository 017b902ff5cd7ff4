"""Error reports to Sentry when SENTRY_DSN is set (off otherwise). Each event is tagged with
the tenant schema and request id of the request or job it happened in, and scrubbed before it
leaves the process: no request URL (the route names the transaction), body, cookies, query
string or credentials, no user beyond the id, no local variables, and email addresses and
phone numbers cut from every string."""

import sentry_sdk
from django.conf import settings
from sentry_sdk.transport import Transport
from sentry_sdk.types import Event, Hint

from shared_apps.observability.context import request_id_var, tenant_var
from shared_apps.observability.personal import redact

# Request headers an error report keeps; the rest (Authorization, cookies, provider secrets and
# signatures, forwarded client addresses) are dropped.
KEPT_HEADERS = frozenset({"host", "user-agent", "content-type", "content-length", "accept", "x-request-id"})


def configure_from_environment() -> bool:
    if not settings.SENTRY_DSN:
        return False
    init_sentry(dsn=settings.SENTRY_DSN)
    return True


def init_sentry(*, dsn: str, transport: type[Transport] | Transport | None = None) -> None:
    """`transport` replaces the network (tests keep the events in memory)."""
    # Imported here: loading the integrations costs every process time, also without a DSN.
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.dramatiq import DramatiqIntegration

    sentry_sdk.init(
        dsn=dsn,
        transport=transport,
        integrations=[DjangoIntegration(), DramatiqIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_breadcrumb=lambda breadcrumb, hint: redact(breadcrumb),
    )


def scrub_event(event: Event, hint: Hint) -> Event:
    tags = event.setdefault("tags", {})
    tenant, request_id = tenant_var.get(), request_id_var.get()
    if tenant != "-":
        tags.setdefault("tenant", tenant)
    if request_id != "-":
        tags.setdefault("request_id", request_id)
    request = event.get("request")
    if isinstance(request, dict):
        for field in ("url", "data", "cookies", "query_string", "env"):
            request.pop(field, None)
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {name: value for name, value in headers.items() if name.lower() in KEPT_HEADERS}
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    return redact(event)
