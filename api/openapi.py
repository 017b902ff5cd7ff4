"""The OpenAPI document lists, for every operation, each error status it can answer, with the
error envelope as its body, so generated clients know them. Added here in one place from what
the operation is (authenticated, public, method) rather than by hand on each route."""

from http import HTTPStatus
from typing import Any

from ninja import NinjaAPI, Schema
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema

ERROR_SCHEMA_NAME = "ErrorEnvelope"

# Any operation: bad input in the URL or headers (400), a token for another business or a
# suspended one (403), an unknown business host (404), PostgreSQL or Redis unavailable (503).
EVERY_OPERATION = (400, 403, 404, 503)
# Routes that need a token, and public POSTs that take credentials (login, refresh).
AUTHENTICATED = (401,)
# Public routes are the rate-limited ones (login, registration, refresh).
PUBLIC = (429,)
# A body over the upload limit (413); a conflicting state or an Idempotency-Key in progress (409).
WITH_BODY = (409, 413)
# The same Idempotency-Key with another body.
CREATING = (422,)


class ErrorEnvelope(Schema):
    """The body of every error answer (api/errors.py)."""

    statusCode: int
    timestamp: str
    message: str
    errors: list[dict[str, Any]]
    path: str
    requestId: str


def error_statuses(operation: Operation) -> set[int]:
    methods = set(operation.methods)
    statuses = set(EVERY_OPERATION)
    if operation.auth_callbacks or "POST" in methods:
        statuses.update(AUTHENTICATED)
    if not operation.auth_callbacks:
        statuses.update(PUBLIC)
    if methods & {"POST", "PUT", "PATCH", "DELETE"}:
        statuses.update(WITH_BODY)
    if "POST" in methods:
        statuses.update(CREATING)
    return statuses


class DocumentedErrorsSchema(OpenAPISchema):
    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        if ERROR_SCHEMA_NAME not in self.schemas:
            self.schemas[ERROR_SCHEMA_NAME] = ErrorEnvelope.model_json_schema(schema_generator=NinjaGenerateJsonSchema)
        envelope = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}}
        for status in sorted(error_statuses(operation) - set(result)):
            result[status] = {"description": HTTPStatus(status).phrase, "content": envelope}
        return result


class DocumentedErrorsNinjaAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return DocumentedErrorsSchema(self, path_prefix)
