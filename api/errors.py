"""The one error envelope, and the mapping of every error to it.

`{"statusCode", "timestamp", "message", "errors", "path", "requestId"}` is answered for
validation errors, domain errors, Ninja's own errors, Django's 404/405/500 and anything that
escapes a view; a 500 never carries a stack trace."""

import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from shared_apps import errors as domain
from shared_apps.observability.context import request_id_var

logger = logging.getLogger("api")

STATUS_FOR_DOMAIN_ERROR: tuple[tuple[type[domain.DomainError], int], ...] = (
    (domain.ValidationFailed, 400),
    (domain.NotAuthenticated, 401),
    (domain.PermissionDenied, 403),
    (domain.NotFound, 404),
    (domain.Conflict, 409),
    (domain.Gone, 410),
    (domain.RateLimited, 429),
    (domain.ProviderUnavailable, 503),
)

DEFAULT_MESSAGES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}

# What a client is told to wait before retrying while a dependency is down.
RETRY_AFTER_SECONDS = 5
# The database is unreachable, restarting or its pool is exhausted (psycopg_pool.PoolTimeout
# arrives as OperationalError): the request may succeed later, so 503, not 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


def envelope(
    request: HttpRequest,
    status: int,
    message: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JsonResponse:
    body = {
        "statusCode": status,
        "timestamp": datetime.now(tz=UTC).isoformat(),
        "message": message or DEFAULT_MESSAGES.get(status, "Error"),
        "errors": errors or [],
        "path": request.path,
        "requestId": request_id_var.get(),
    }
    response = JsonResponse(body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def is_envelope(response: HttpResponse) -> bool:
    return response.get("Content-Type", "").startswith("application/json") and b'"statusCode"' in getattr(
        response, "content", b""
    )


def domain_error_response(request: HttpRequest, exc: domain.DomainError) -> JsonResponse:
    status = next((code for cls, code in STATUS_FOR_DOMAIN_ERROR if isinstance(exc, cls)), 400)
    errors = [{"code": exc.code, **detail} for detail in exc.details] or [{"code": exc.code}]
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, domain.RateLimited) else None
    return envelope(request, status, exc.message, errors, headers)


def unavailable_response(request: HttpRequest, exc: BaseException | None) -> JsonResponse | None:
    """503 with Retry-After when `exc` says the database is away, else None."""
    if not isinstance(exc, DATABASE_UNAVAILABLE):
        return None
    logger.warning("Database unavailable", extra={"path": request.path, "error": repr(exc)})
    return envelope(
        request,
        503,
        "The database is unavailable; try again shortly.",
        [{"code": "database_unavailable"}],
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Ninja/pydantic errors as `{field, message, code}`; the request part ('body', 'query')
    is dropped from the field path."""
    items = []
    for error in exc.errors:
        location = [
            str(part)
            for part in error.get("loc", ())
            if part not in ("body", "query", "path", "payload", "form", "file")
        ]
        items.append(
            {
                "field": ".".join(location) or None,
                "message": error.get("msg", "Invalid value."),
                "code": error.get("type"),
            }
        )
    return items


def install_exception_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(domain.DomainError)
    def on_domain_error(request: HttpRequest, exc: domain.DomainError) -> HttpResponse:
        return domain_error_response(request, exc)

    @api.exception_handler(ValidationError)
    def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return envelope(request, 400, "Validation failed", _validation_errors(exc))

    @api.exception_handler(AuthenticationError)
    def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return envelope(request, 401, "Authentication required", [{"code": "not_authenticated"}])

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return envelope(request, exc.status_code, str(exc) or None)

    @api.exception_handler(RequestDataTooBig)
    def on_body_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return body_too_big(request)

    # A multipart body over the in-memory limit is parsed as a stream (api/middleware.py), so its
    # raw bytes can't be read afterwards: the same answer as reading them would have given.
    @api.exception_handler(RawPostDataException)
    def on_body_streamed(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
        return body_too_big(request)

    @api.exception_handler(Exception)
    def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        unavailable = unavailable_response(request, exc)
        if unavailable is not None:
            return unavailable
        logger.exception("Unhandled error", extra={"path": request.path})
        return envelope(request, 500)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return envelope(request, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    return envelope(request, 500)


def body_too_big(request: HttpRequest) -> JsonResponse:
    return envelope(
        request,
        413,
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
        [{"code": "body_too_large", "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}],
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's answer to a SuspiciousOperation raised outside Ninja (e.g. an oversized form
    posted to the admin)."""
    if isinstance(exception, RequestDataTooBig):
        return body_too_big(request)
    return envelope(request, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return envelope(request, 403)
