"""`Idempotency-Key` on creating POSTs: the same key with the same body answers the first
response again; the same key with another body answers 422. Records are scoped by tenant
schema and caller, so keys never meet across tenants."""

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from api.errors import envelope
from api.ratelimit import client_ip
from shared_apps.idempotency.models import IdempotencyRecord

MAX_KEY_LENGTH = 255


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None or not request.path.startswith("/api/"):
            return self.get_response(request)
        if not key or len(key) > MAX_KEY_LENGTH:
            return envelope(request, 400, "Invalid Idempotency-Key.", [{"code": "invalid_idempotency_key"}])

        tenant = getattr(request, "tenant", None)
        claims = getattr(request, "access_claims", None)
        # Anonymous callers (registration) share a scope per IP; the body hash still has to
        # match for a replay, so only the sender of the very same request gets its answer.
        caller = f"user:{claims.user_id}" if claims else f"ip:{client_ip(request)}"
        scope = f"{tenant.schema_name if tenant else 'public'}:{caller}"
        request_hash = hashlib.sha256(request.method.encode() + request.path.encode() + request.body).hexdigest()

        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(scope=scope, key=key, request_hash=request_hash)
        except IntegrityError:
            record = IdempotencyRecord.objects.get(scope=scope, key=key)
            if record.request_hash != request_hash:
                return envelope(
                    request,
                    422,
                    "This Idempotency-Key was used with a different request.",
                    [{"code": "idempotency_key_reused"}],
                )
            if record.status_code is None:
                return envelope(
                    request, 409, "A request with this Idempotency-Key is in progress.", [{"code": "in_progress"}]
                )
            replay = HttpResponse(bytes(record.response_body), status=record.status_code)
            replay["Content-Type"] = record.content_type
            replay["Idempotent-Replayed"] = "true"
            return replay

        response = self.get_response(request)
        if response.status_code >= 500:
            # Let the client retry a failure with the same key.
            record.delete()
        else:
            record.status_code = response.status_code
            record.response_body = response.content
            record.content_type = response.get("Content-Type", "")
            record.save(update_fields=["status_code", "response_body", "content_type"])
        return response
