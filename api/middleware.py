"""Request ids and the error envelope for responses that Ninja did not make."""

import ipaddress
import re
import sys
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.http.request import validate_host
from django_tenants.middleware.main import TenantMainMiddleware

from api.auth import ApiRequest
from api.errors import envelope, is_envelope, unavailable_response
from api.metrics import measuring_database, observe_request
from api.ratelimit import client_ip
from shared_apps.audit import context as audit_context
from shared_apps.events import actors as event_actors
from shared_apps.observability.context import request_id_var, tenant_var, user_var
from shared_apps.observability.tracing import annotate_current_span
from shared_apps.tenants import queries as tenant_queries

_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")


class RequestIdMiddleware:
    """Takes the caller's X-Request-ID when it is safe to log, else makes one; echoes it. Counts
    the request's database statements and time for the metrics, and names the tenant and request
    on the request's span."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ApiRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _SAFE_REQUEST_ID.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        tokens = (request_id_var.set(request_id), tenant_var.set("-"), user_var.set("-"))
        actor_token = event_actors.set_actor(event_actors.SYSTEM)
        origin = audit_context.Origin(
            ip=_valid_ip(client_ip(request)),
            user_agent=request.headers.get("User-Agent", ""),
            request_id=request_id,
        )
        started = time.perf_counter()
        try:
            with audit_context.coming_from(origin), measuring_database() as database:
                response = self.get_response(request)
            annotate_current_span(tenant=tenant_var.get(), request_id=request_id)
        finally:
            request_id_var.reset(tokens[0])
            tenant_var.reset(tokens[1])
            user_var.reset(tokens[2])
            event_actors.reset_actor(actor_token)
        response["X-Request-ID"] = request_id
        observe_request(request, response, time.perf_counter() - started, database)
        return response


def _valid_ip(value: str) -> str | None:
    """The address as the audit trail stores it, or None when it is not one (a test client)."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class AllowedHostsMiddleware:
    """Django's ALLOWED_HOSTS check with tenants' own domains: a host is served when it matches
    TENANT_HOST_PATTERNS (the API host, its subdomains, the aliases) or is a row of the Domain
    table (a verified custom domain, looked up through the tenant cache); anything else is 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ApiRequest) -> HttpResponse:
        try:
            hostname = TenantMainMiddleware.hostname_from_request(request).lower()
        except DisallowedHost:
            hostname = ""
        if not is_served_host(hostname):
            return envelope(request, 400, "Unknown host.", [{"code": "disallowed_host"}])
        return self.get_response(request)


def is_served_host(hostname: str) -> bool:
    """Whether we serve `hostname` (lower-case, without port): HTTP and sockets alike."""
    return bool(hostname) and (
        validate_host(hostname, settings.TENANT_HOST_PATTERNS)
        or tenant_queries.get_tenant_for_host(host=hostname) is not None
    )


def _remember_unhandled_exception(sender: object, request: ApiRequest | None = None, **kwargs: object) -> None:
    """Django sends this inside its `except` block for an exception no view handled (one
    raised in a middleware, such as tenant resolution finding the database away)."""
    if request is not None:
        request.unhandled_exception = sys.exception()


class ErrorEnvelopeMiddleware:
    """Rewrites error responses under /api/ that are not already in the envelope (Django's
    404 for an unknown path, 405 for a wrong method, CSRF 403) into the envelope, and a 500
    caused by the database being away into a 503 (in DEBUG too, where Django answers its
    technical page instead of handler500)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response
        got_request_exception.connect(_remember_unhandled_exception, dispatch_uid="api.unhandled_exception")

    def __call__(self, request: ApiRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code == 500 and request.path.startswith("/api/"):
            unavailable = unavailable_response(request, getattr(request, "unhandled_exception", None))
            if unavailable is not None:
                return unavailable
        if response.status_code >= 400 and request.path.startswith("/api/") and not is_envelope(response):
            rewritten = envelope(request, response.status_code)
            if response.has_header("Allow"):
                rewritten["Allow"] = response["Allow"]
            if response.has_header("Retry-After"):
                rewritten["Retry-After"] = response["Retry-After"]
            return rewritten
        return response


class NulCharacterMiddleware:
    """Refuses a NUL character in the path, a query parameter, a header value or a form field
    with a 400 naming where it was: PostgreSQL text cannot hold one, and no route needs one.
    (JSON bodies are checked by the schemas, api/schemas.py.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: ApiRequest) -> HttpResponse:
        field = _first_nul_field(request)
        if field is not None:
            return envelope(
                request,
                400,
                "Validation failed",
                [{"field": field, "message": "Must not contain NUL characters.", "code": "nul_character"}],
            )
        return self.get_response(request)


def _first_nul_field(request: ApiRequest) -> str | None:
    if "\x00" in request.path:
        return "path"
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "")
    for name, value in request.headers.items():
        if "\x00" in value:
            return name
    for name, values in _form_fields(request):
        if "\x00" in name or any("\x00" in value for value in values):
            return name.replace("\x00", "")
    return None


FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _form_fields(request: ApiRequest) -> list[tuple[str, list[str]]]:
    if request.method != "POST" or request.content_type not in FORM_CONTENT_TYPES:
        return []
    try:
        # Read first, so the raw body stays readable once the form is parsed: webhooks check
        # their signatures on it.
        request.body  # noqa: B018
    except RequestDataTooBig:
        if request.content_type != "multipart/form-data":
            return []  # the view's own read answers 413
        # Files don't count towards the in-memory limit: parse the stream; a later read of the
        # raw body is answered 413 (api/errors.py).
    return list(request.POST.lists())
