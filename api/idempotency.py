"""`Idempotency-Key` on the creating POSTs of business data, opted in per operation with
`@idempotent` (below the router decorator): the same key with the same body answers the
first response again; the same key with another body answers 422; while the first request
runs, the same key answers 409. Never on /auth routes: their answers carry tokens, and no
stored answer may hold a secret. Records are scoped by tenant schema and caller, so keys
never meet across tenants."""

import hashlib
import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from ninja.decorators import decorate_view
from ninja.operation import Operation as NinjaOperation
from ninja.utils import contribute_operation_callback

from api.errors import envelope
from shared_apps.idempotency import services

logger = logging.getLogger("api")

MAX_KEY_LENGTH = 255
# Fields whose presence in an answer means it must never be stored for replay.
SECRET_FIELDS = frozenset(
    {"access_token", "refresh_token", "token", "password", "secret", "client_secret", "accept_url"}
)

Operation = TypeVar("Operation", bound=Callable[..., Any])


def idempotent(operation: Operation) -> Operation:
    """Opt a Ninja operation in to Idempotency-Key (api/openapi.py documents the header where
    the operation is marked)."""
    contribute_operation_callback(operation, _mark_idempotent)
    return decorate_view(with_idempotency_key)(operation)


def _mark_idempotent(operation: NinjaOperation) -> None:
    operation.honours_idempotency_key = True  # type: ignore[attr-defined]  # read by api.openapi.is_idempotent


def with_idempotency_key(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(run)
    def run_once(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        claims = getattr(request, "access_claims", None)
        if key is None or claims is None:
            # Without a signed-in caller the operation answers 401 anyway.
            return run(request, *args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            return envelope(request, 400, "Invalid Idempotency-Key.", [{"code": "invalid_idempotency_key"}])
        tenant = getattr(request, "tenant", None)
        scope = f"{tenant.schema_name if tenant else 'public'}:user:{claims.user_id}"
        request_hash = hashlib.sha256(
            (request.method or "").encode() + request.get_full_path().encode() + request.body
        ).hexdigest()
        try:
            record = services.claim_idempotency_key(scope=scope, key=key, request_hash=request_hash)
        except services.KeyReused:
            message = "This Idempotency-Key was used with a different request."
            return envelope(request, 422, message, [{"code": "idempotency_key_reused"}])
        except services.KeyInProgress:
            message = "A request with this Idempotency-Key is in progress."
            return envelope(request, 409, message, [{"code": "in_progress"}])
        if record.status_code is not None:
            assert record.response_body is not None  # stored together with the status code
            replay = HttpResponse(bytes(record.response_body), status=record.status_code)
            replay["Content-Type"] = record.content_type
            replay["Idempotent-Replayed"] = "true"
            return replay

        try:
            response = run(request, *args, **kwargs)
        except BaseException:
            services.release_idempotency_key(record=record)
            raise
        if response.status_code >= 500:
            # Let the client retry a failure with the same key.
            services.release_idempotency_key(record=record)
        elif _carries_secret(response):
            logger.error("Not stored for replay: the answer carries a secret", extra={"path": request.path})
            services.release_idempotency_key(record=record)
        else:
            services.complete_idempotency_key(
                record=record,
                status_code=response.status_code,
                body=response.content,
                content_type=response.get("Content-Type", ""),
            )
        return response

    return run_once


def _carries_secret(response: HttpResponse) -> bool:
    if not response.get("Content-Type", "").startswith("application/json"):
        return False
    try:
        document = json.loads(response.content)
    except ValueError:
        return False
    return _has_secret_field(document)


def _has_secret_field(value: Any) -> bool:
    if isinstance(value, dict):
        return any(name in SECRET_FIELDS or _has_secret_field(item) for name, item in value.items())
    if isinstance(value, list):
        return any(_has_secret_field(item) for item in value)
    return False
