"""What the OpenAPI document says beyond Ninja's defaults, decided here in one place from what
each operation is rather than by hand on each route (docs/api-contract.md):

- every error status an operation can answer, with the error envelope as its body;
- the bearer security scheme on every operation that takes a token, none on public ones;
- the `Idempotency-Key` header on the operations that honour it (api/idempotency.py);
- operation ids made from the path and method (`customers_create`, `invoices_pay_link`)."""

import re
from http import HTTPStatus
from typing import Any

from ninja import NinjaAPI, Schema
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.schema import NinjaGenerateJsonSchema
from pydantic import ConfigDict, Field

ERROR_SCHEMA_NAME = "ErrorEnvelope"
BEARER_SCHEME_NAME = "bearerAuth"
BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "The `access_token` from /auth/register, /auth/login or /auth/refresh.",
}
IDEMPOTENCY_KEY_PARAMETER = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "description": (
        "Any unique string (at most 255 characters, e.g. a UUID) that makes a retry safe: the same key "
        "with the same body answers the first response again (header `Idempotent-Replayed: true`), with "
        "another body 422, while the first request still runs 409. Keys are kept per business and user."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "example": "3f1c2b8e-8d4a-4c5e-9a51-0b6f2a7d9e10",
}

# Any operation: bad input in the URL or headers (400), a token for another business or a
# suspended one (403), an unknown business host (404), PostgreSQL or Redis unavailable (503).
EVERY_OPERATION = (400, 403, 404, 503)
# Routes that need a token, and public POSTs that take credentials (login, refresh).
AUTHENTICATED = (401,)
# Public routes are the rate-limited ones (login, registration, refresh, customers' links).
PUBLIC = (429,)
# A body over the upload limit (413); a conflicting state or an Idempotency-Key in progress (409).
WITH_BODY = (409, 413)
# The same Idempotency-Key with another body.
CREATING = (422,)


class ErrorItem(Schema):
    """One thing wrong with the request. `code` is stable; the other members are present when they
    apply (a validation error names its `field`, a double booking its clashing appointment)."""

    model_config = ConfigDict(extra="allow")

    code: str | None = Field(default=None, description="Stable machine-readable reason.", examples=["slug_taken"])
    field: str | None = Field(
        default=None, description="The input field at fault, dotted for nested ones.", examples=["items.0.quantity"]
    )
    message: str | None = Field(default=None, description="What is wrong, for people.", examples=["Required."])
    conflicting_appointment_id: int | None = Field(
        default=None, description="A double booking (409): the appointment it clashes with."
    )
    staff_id: int | None = Field(default=None, description="A double booking (409): the staff member booked.")
    variable: str | None = Field(default=None, description="An SMS template: the unknown or unusable variable.")
    limit: int | None = Field(default=None, description="A body too large (413): the limit in bytes.")
    current: str | None = Field(default=None, description="An invalid transition (409): the current status.")
    requested: str | None = Field(default=None, description="An invalid transition (409): the status asked for.")
    allowed: list[str] | None = Field(default=None, description="An invalid transition (409): the statuses allowed.")
    current_version: int | None = Field(default=None, description="A stale `version` (409): the current one.")
    invoice_id: int | None = Field(default=None, description="A quote converted already (409): its invoice.")
    retry_after: int | None = Field(
        default=None, description="Too many requests (429): seconds to wait, as in the Retry-After header."
    )
    choices: list[str] | None = Field(
        default=None, description="Login of a member of several businesses: the slugs to pick from."
    )


class ErrorEnvelope(Schema):
    """The body of every error answer (api/errors.py)."""

    statusCode: int = Field(examples=[409])
    timestamp: str = Field(description="When the error was answered (ISO 8601, UTC).")
    message: str = Field(examples=["This time clashes with another appointment."])
    errors: list[ErrorItem]
    path: str = Field(examples=["/api/v1/appointments"])
    requestId: str = Field(description="Also in the X-Request-ID header and the server's logs.")


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


def is_idempotent(operation: Operation) -> bool:
    """Set by api.idempotency.idempotent."""
    return getattr(operation, "honours_idempotency_key", False)


ITEM_SUFFIX = {"GET": "get", "PATCH": "update", "PUT": "replace", "DELETE": "delete", "POST": "create"}
COLLECTION_SUFFIX = {"GET": "list", "POST": "create", "PATCH": "update", "PUT": "replace", "DELETE": "delete"}
SINGLETON_SUFFIX = {"GET": "get", "PATCH": "update", "PUT": "replace", "DELETE": "delete", "POST": ""}


def _answers_a_page(operation: Operation) -> bool:
    """A paginated list: Ninja's paginate answers `{"items": [...], "count": N}`."""
    model = operation.response_models.get(200)
    field = getattr(model, "model_fields", {}).get("response")
    fields = getattr(field.annotation, "model_fields", {}) if field is not None else {}
    return {"items", "count"} <= set(fields)


def operation_ids(api: NinjaAPI) -> dict[int, str]:
    """Each operation's id, by `id(operation)`: the words of its path (parameters left out, `-`
    and `.` as `_`) and, unless the path names an action (`/pay-link`, `/login`), what the method
    does there: `_list`/`_create` on a collection (a paginated list, or a path with items
    below it), `_get`/`_update`/`_delete` on an item (the path ends in a parameter) or on a
    singleton path answering several methods (`/tenants/me`)."""
    routes: list[tuple[str, Operation]] = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = re.sub(r"{[^}:]+:", "{", "/".join(part.strip("/") for part in (prefix, path) if part.strip("/")))
            routes.extend((full, operation) for operation in path_view.operations)
    paths = {path for path, _ in routes}
    methods_at: dict[str, set[str]] = {}
    collections = {other.rsplit("/{", 1)[0] for other in paths if "/{" in other}
    for path, operation in routes:
        methods_at.setdefault(path, set()).update(operation.methods)
        if _answers_a_page(operation):
            collections.add(path)
    result = {}
    for path, operation in routes:
        segments = path.split("/")
        words = [re.sub(r"[^a-z0-9]+", "_", segment.lower()) for segment in segments if not segment.startswith("{")]
        method = operation.methods[0]
        if segments[-1].startswith("{"):
            suffix = ITEM_SUFFIX[method]
        elif path in collections:
            suffix = COLLECTION_SUFFIX[method]
        elif len(methods_at[path]) > 1:
            suffix = SINGLETON_SUFFIX[method]
        else:
            suffix = ""
        result[id(operation)] = "_".join(words + ([suffix] if suffix else []))
    return result


# Filters that mean the same on every list, described once; a parameter's own description wins.
SHARED_PARAMETERS = {
    "customer_id": "Only those of this customer.",
    "staff_id": "Only those of this staff member (a user id).",
    "invoice_id": "Only those of this invoice.",
    "direction": "Only inbound or only outbound ones.",
}


def describe_parameter(parameter: dict[str, Any]) -> None:
    """Path ids (`customer_id` -> "The customer's id.") and the shared filters."""
    if parameter.get("description"):
        return
    name = parameter["name"]
    if parameter["in"] == "path" and name.endswith("_id"):
        parameter["description"] = f"The {name.removesuffix('_id').replace('_', ' ')}'s id."
    elif name in SHARED_PARAMETERS:
        parameter["description"] = SHARED_PARAMETERS[name]


class ContractSchema(OpenAPISchema):
    def operation_parameters(self, operation: Operation) -> list[dict[str, Any]]:
        parameters = super().operation_parameters(operation)
        for parameter in parameters:
            describe_parameter(parameter)
        if is_idempotent(operation):
            parameters.append(dict(IDEMPOTENCY_KEY_PARAMETER))
        return parameters

    def operation_security(self, operation: Operation) -> list[dict[str, Any]] | None:
        if not operation.auth_callbacks:
            return None
        self.securitySchemes[BEARER_SCHEME_NAME] = BEARER_SCHEME
        return [{BEARER_SCHEME_NAME: []}]

    def responses(self, operation: Operation) -> dict[int, Any]:
        result = super().responses(operation)
        if ERROR_SCHEMA_NAME not in self.schemas:
            definitions = ErrorEnvelope.model_json_schema(
                schema_generator=NinjaGenerateJsonSchema, ref_template="#/components/schemas/{model}"
            )
            self.add_schema_definitions(definitions.pop("$defs", {}))
            self.schemas[ERROR_SCHEMA_NAME] = definitions
        envelope = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}}
        for status in sorted(error_statuses(operation) - set(result)):
            result[status] = {"description": HTTPStatus(status).phrase, "content": envelope}
        return result


class ContractNinjaAPI(NinjaAPI):
    _operation_ids: dict[int, str] | None = None

    def get_openapi_operation_id(self, operation: Operation) -> str:
        if self._operation_ids is None:
            self._operation_ids = operation_ids(self)
        return self._operation_ids[id(operation)]

    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: dict | None = None) -> OpenAPISchema:
        if path_prefix is None:
            path_prefix = self.get_root_path(path_params or {})
        return ContractSchema(self, path_prefix)
