"""The OpenAPI document as a client generator reads it: security, Idempotency-Key, operation
ids, enums, typed errors, media types, descriptions (docs/api-contract.md)."""

import json
from pathlib import Path

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from openapi_spec_validator import validate

from api.idempotency import idempotent, with_idempotency_key

PUBLIC_OPERATIONS = {
    "health",
    "ready",
    "auth_register",
    "auth_login",
    "auth_refresh",
    "auth_accept_invite",
    "appointments_calendar_ics",
    "sms_webhook",
    "voice_webhook",
    "payments_webhook",
    "portal_get",
    "portal_booking",
    "portal_booking_slots",
    "portal_properties",
    "portal_booking_requests_create",
    "portal_booking_requests_list",
    "portal_booking_requests_get",
    "portal_work_requests_create",
    "portal_work_requests_list",
    "portal_work_requests_get",
    "portal_quotes_get",
    "portal_quotes_accept",
    "portal_quotes_decline",
    "portal_quotes_options",
    "portal_quotes_pdf",
    "portal_invoices_get",
    "portal_invoices_pdf",
}

# The committed operation ids: renaming one breaks every generated client, so it is a decision
# made here, not a side effect of renaming a function.
OPERATION_IDS = {
    ("get", "/health"): "health",
    ("get", "/ready"): "ready",
    ("post", "/auth/register"): "auth_register",
    ("post", "/auth/login"): "auth_login",
    ("post", "/auth/refresh"): "auth_refresh",
    ("post", "/auth/accept-invite"): "auth_accept_invite",
    ("post", "/auth/logout"): "auth_logout",
    ("get", "/auth/me"): "auth_me",
    ("get", "/users"): "users_list",
    ("patch", "/users/{user_id}"): "users_update",
    ("delete", "/users/{user_id}"): "users_delete",
    ("post", "/invitations"): "invitations_create",
    ("get", "/invitations"): "invitations_list",
    ("post", "/invitations/{invitation_id}/resend"): "invitations_resend",
    ("delete", "/invitations/{invitation_id}"): "invitations_delete",
    ("get", "/tenants/me"): "tenants_me_get",
    ("patch", "/tenants/me"): "tenants_me_update",
    ("put", "/tenants/me/logo"): "tenants_me_logo_replace",
    ("get", "/tenants/me/logo"): "tenants_me_logo_get",
    ("delete", "/tenants/me/logo"): "tenants_me_logo_delete",
    ("get", "/tenants/me/domains"): "tenants_me_domains_list",
    ("post", "/tenants/me/domains"): "tenants_me_domains_create",
    ("post", "/tenants/me/domains/{domain_id}/verify"): "tenants_me_domains_verify",
    ("delete", "/tenants/me/domains/{domain_id}"): "tenants_me_domains_delete",
    ("get", "/platform/tenants"): "platform_tenants_list",
    ("post", "/platform/tenants"): "platform_tenants_create",
    ("get", "/platform/tenants/{tenant_id}"): "platform_tenants_get",
    ("patch", "/platform/tenants/{tenant_id}"): "platform_tenants_update",
    ("delete", "/platform/tenants/{tenant_id}"): "platform_tenants_delete",
    ("post", "/platform/tenants/{tenant_id}/restore"): "platform_tenants_restore",
    ("get", "/platform/webhook-events"): "platform_webhook_events_list",
    ("get", "/platform/outbox"): "platform_outbox_list",
    ("get", "/platform/audit-events"): "platform_audit_events",
    ("get", "/platform/flags"): "platform_flags_list",
    ("put", "/platform/flags/{name}"): "platform_flags_replace",
    ("get", "/platform/tenants/{tenant_id}/flags"): "platform_tenants_flags_list",
    ("put", "/platform/tenants/{tenant_id}/flags/{name}"): "platform_tenants_flags_replace",
    ("get", "/platform/stats"): "platform_stats",
    ("get", "/audit-events"): "audit_events",
    ("get", "/customers"): "customers_list",
    ("post", "/customers"): "customers_create",
    ("get", "/customers/{customer_id}"): "customers_get",
    ("patch", "/customers/{customer_id}"): "customers_update",
    ("delete", "/customers/{customer_id}"): "customers_delete",
    ("get", "/customers/{customer_id}/history"): "customers_history",
    ("get", "/customers/{customer_id}/properties"): "customers_properties_list",
    ("post", "/customers/{customer_id}/properties"): "customers_properties_create",
    ("get", "/customers/{customer_id}/properties/{property_id}"): "customers_properties_get",
    ("patch", "/customers/{customer_id}/properties/{property_id}"): "customers_properties_update",
    ("delete", "/customers/{customer_id}/properties/{property_id}"): "customers_properties_delete",
    ("get", "/price-book"): "price_book_list",
    ("post", "/price-book"): "price_book_create",
    ("get", "/price-book/{item_id}"): "price_book_get",
    ("patch", "/price-book/{item_id}"): "price_book_update",
    ("delete", "/price-book/{item_id}"): "price_book_delete",
    ("get", "/appointments/availability"): "appointments_availability",
    ("post", "/appointments/calendar-feeds"): "appointments_calendar_feeds",
    ("get", "/appointments/calendar.ics"): "appointments_calendar_ics",
    ("get", "/appointments"): "appointments_list",
    ("post", "/appointments"): "appointments_create",
    ("get", "/appointments/{appointment_id}"): "appointments_get",
    ("patch", "/appointments/{appointment_id}"): "appointments_update",
    ("delete", "/appointments/{appointment_id}"): "appointments_delete",
    ("post", "/appointments/{appointment_id}/transition"): "appointments_transition",
    ("get", "/appointment-series"): "appointment_series_list",
    ("post", "/appointment-series"): "appointment_series_create",
    ("get", "/appointment-series/{series_id}"): "appointment_series_get",
    ("patch", "/appointment-series/{series_id}"): "appointment_series_update",
    ("delete", "/appointment-series/{series_id}"): "appointment_series_delete",
    ("get", "/appointment-series/{series_id}/occurrences"): "appointment_series_occurrences_list",
    ("get", "/booking-requests"): "booking_requests_list",
    ("get", "/booking-requests/{booking_request_id}"): "booking_requests_get",
    ("post", "/booking-requests/{booking_request_id}/accept"): "booking_requests_accept",
    ("post", "/booking-requests/{booking_request_id}/decline"): "booking_requests_decline",
    ("get", "/work-requests"): "work_requests_list",
    ("get", "/work-requests/{work_request_id}"): "work_requests_get",
    ("post", "/work-requests/{work_request_id}/convert"): "work_requests_convert",
    ("post", "/work-requests/{work_request_id}/close"): "work_requests_close",
    ("get", "/time-off"): "time_off_list",
    ("post", "/time-off"): "time_off_create",
    ("get", "/time-off/{time_off_id}"): "time_off_get",
    ("patch", "/time-off/{time_off_id}"): "time_off_update",
    ("delete", "/time-off/{time_off_id}"): "time_off_delete",
    ("get", "/closed-days"): "closed_days_list",
    ("post", "/closed-days"): "closed_days_create",
    ("get", "/closed-days/{closed_day_id}"): "closed_days_get",
    ("patch", "/closed-days/{closed_day_id}"): "closed_days_update",
    ("delete", "/closed-days/{closed_day_id}"): "closed_days_delete",
    ("get", "/quotes"): "quotes_list",
    ("post", "/quotes"): "quotes_create",
    ("get", "/quotes/{quote_id}"): "quotes_get",
    ("patch", "/quotes/{quote_id}"): "quotes_update",
    ("delete", "/quotes/{quote_id}"): "quotes_delete",
    ("get", "/quotes/{quote_id}/pdf"): "quotes_pdf",
    ("patch", "/quotes/{quote_id}/status"): "quotes_status",
    ("post", "/quotes/{quote_id}/convert"): "quotes_convert",
    ("get", "/invoices"): "invoices_list",
    ("post", "/invoices"): "invoices_create",
    ("get", "/invoices/{invoice_id}"): "invoices_get",
    ("patch", "/invoices/{invoice_id}"): "invoices_update",
    ("delete", "/invoices/{invoice_id}"): "invoices_delete",
    ("get", "/invoices/{invoice_id}/pdf"): "invoices_pdf",
    ("patch", "/invoices/{invoice_id}/status"): "invoices_status",
    ("get", "/invoices/{invoice_id}/payments"): "invoices_payments_list",
    ("post", "/invoices/{invoice_id}/payments"): "invoices_payments_create",
    ("post", "/invoices/{invoice_id}/pay-link"): "invoices_pay_link",
    ("post", "/sms/webhook"): "sms_webhook",
    ("get", "/sms/messages"): "sms_messages_list",
    ("post", "/sms/send"): "sms_send",
    ("get", "/sms/templates"): "sms_templates_list",
    ("post", "/sms/templates"): "sms_templates_create",
    ("get", "/sms/templates/{template_id}"): "sms_templates_get",
    ("patch", "/sms/templates/{template_id}"): "sms_templates_update",
    ("delete", "/sms/templates/{template_id}"): "sms_templates_delete",
    ("post", "/voice/webhook"): "voice_webhook",
    ("post", "/voice/call"): "voice_call",
    ("get", "/voice/calls"): "voice_calls_list",
    ("get", "/voice/calls/{call_id}"): "voice_calls_get",
    ("post", "/payments/webhook"): "payments_webhook",
    ("post", "/payments/connect"): "payments_connect",
    ("get", "/payments/connect"): "payments_connect_get",
    ("post", "/payments/create-intent"): "payments_create_intent",
    ("get", "/payments"): "payments_list",
    ("post", "/payments/{payment_id}/refund"): "payments_refund",
    ("get", "/search"): "search",
    ("get", "/customers/{parent_id}/attachments"): "customers_attachments_list",
    ("post", "/customers/{parent_id}/attachments"): "customers_attachments_create",
    ("get", "/appointments/{parent_id}/attachments"): "appointments_attachments_list",
    ("post", "/appointments/{parent_id}/attachments"): "appointments_attachments_create",
    ("get", "/quotes/{parent_id}/attachments"): "quotes_attachments_list",
    ("post", "/quotes/{parent_id}/attachments"): "quotes_attachments_create",
    ("get", "/invoices/{parent_id}/attachments"): "invoices_attachments_list",
    ("post", "/invoices/{parent_id}/attachments"): "invoices_attachments_create",
    ("get", "/sms/messages/{parent_id}/attachments"): "sms_messages_attachments_list",
    ("get", "/attachments/settings"): "attachments_settings_get",
    ("patch", "/attachments/settings"): "attachments_settings_update",
    ("get", "/attachments/{attachment_id}"): "attachments_get",
    ("patch", "/attachments/{attachment_id}"): "attachments_update",
    ("delete", "/attachments/{attachment_id}"): "attachments_delete",
    ("post", "/attachments/{attachment_id}/complete"): "attachments_complete",
    ("get", "/attachments/{attachment_id}/download"): "attachments_download",
    ("get", "/search/settings"): "search_settings_get",
    ("patch", "/search/settings"): "search_settings_update",
    ("get", "/webhooks/event-types"): "webhooks_event_types",
    ("get", "/webhooks/endpoints"): "webhooks_endpoints_list",
    ("post", "/webhooks/endpoints"): "webhooks_endpoints_create",
    ("get", "/webhooks/endpoints/{endpoint_id}"): "webhooks_endpoints_get",
    ("patch", "/webhooks/endpoints/{endpoint_id}"): "webhooks_endpoints_update",
    ("delete", "/webhooks/endpoints/{endpoint_id}"): "webhooks_endpoints_delete",
    ("post", "/webhooks/endpoints/{endpoint_id}/rotate-secret"): "webhooks_endpoints_rotate_secret",
    ("post", "/webhooks/endpoints/{endpoint_id}/test"): "webhooks_endpoints_test",
    ("get", "/webhooks/endpoints/{endpoint_id}/deliveries"): "webhooks_endpoints_deliveries_list",
    (
        "post",
        "/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/resend",
    ): "webhooks_endpoints_deliveries_resend",
    ("post", "/webhooks/endpoints/{endpoint_id}/resend"): "webhooks_endpoints_resend",
    ("post", "/customer-links"): "customer_links_create",
    ("get", "/customer-links"): "customer_links_list",
    ("delete", "/customer-links/{link_id}"): "customer_links_delete",
    ("get", "/portal/{token}"): "portal_get",
    ("get", "/portal/{token}/booking"): "portal_booking",
    ("get", "/portal/{token}/booking/slots"): "portal_booking_slots",
    ("get", "/portal/{token}/properties"): "portal_properties",
    ("post", "/portal/{token}/booking-requests"): "portal_booking_requests_create",
    ("get", "/portal/{token}/booking-requests"): "portal_booking_requests_list",
    ("get", "/portal/{token}/booking-requests/{booking_request_id}"): "portal_booking_requests_get",
    ("post", "/portal/{token}/work-requests"): "portal_work_requests_create",
    ("get", "/portal/{token}/work-requests"): "portal_work_requests_list",
    ("get", "/portal/{token}/work-requests/{work_request_id}"): "portal_work_requests_get",
    ("get", "/portal/{token}/quotes/{quote_id}"): "portal_quotes_get",
    ("post", "/portal/{token}/quotes/{quote_id}/accept"): "portal_quotes_accept",
    ("post", "/portal/{token}/quotes/{quote_id}/decline"): "portal_quotes_decline",
    ("post", "/portal/{token}/quotes/{quote_id}/options"): "portal_quotes_options",
    ("get", "/portal/{token}/quotes/{quote_id}/pdf"): "portal_quotes_pdf",
    ("get", "/portal/{token}/invoices/{invoice_id}"): "portal_invoices_get",
    ("get", "/portal/{token}/invoices/{invoice_id}/pdf"): "portal_invoices_pdf",
}


@pytest.fixture(scope="module")
def schema() -> dict:
    from api.main import api

    # As /openapi.json serves it (status codes as strings).
    return json.loads(json.dumps(api.get_openapi_schema(), cls=DjangoJSONEncoder))


def operations(schema: dict) -> dict[str, dict]:
    return {
        operation["operationId"]: operation
        for methods in schema["paths"].values()
        for operation in methods.values()
        if isinstance(operation, dict)
    }


def component(schema: dict, name: str) -> dict:
    return schema["components"]["schemas"][name]


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = component(schema, node["$ref"].rsplit("/", 1)[1])
    return node


def test_the_schema_passes_the_openapi_validator(api_host):
    document = api_host.get("/openapi.json").json()

    validate(document)


def test_operation_ids_are_the_committed_ones(schema):
    found = {
        (method, path.removeprefix("/api/v1")): operation["operationId"]
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    }

    assert found == OPERATION_IDS
    assert len(set(found.values())) == len(found)


def test_every_operation_but_the_public_ones_requires_a_bearer_token(schema):
    assert schema["components"]["securitySchemes"] == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The `access_token` from /auth/register, /auth/login or /auth/refresh.",
        }
    }
    for operation_id, operation in operations(schema).items():
        expected = None if operation_id in PUBLIC_OPERATIONS else [{"bearerAuth": []}]
        assert operation.get("security") == expected, operation_id


def test_idempotency_key_is_documented_exactly_where_it_is_honoured(schema):
    from api.main import api

    honoured = {
        api.get_openapi_operation_id(operation)
        for _, router in api._routers
        for path_view in router.path_operations.values()
        for operation in path_view.operations
        # The view really runs through the Idempotency-Key wrapper.
        if getattr(operation.run, "__code__", None) is with_idempotency_key(lambda request: None).__code__
    }
    documented = {
        operation_id
        for operation_id, operation in operations(schema).items()
        if any(param["name"] == "Idempotency-Key" for param in operation.get("parameters", []))
    }

    assert documented == honoured
    assert {"customers_create", "quotes_convert", "invoices_payments_create", "payments_refund"} <= documented
    header = next(
        param for param in operations(schema)["customers_create"]["parameters"] if param["name"] == "Idempotency-Key"
    )
    assert header["in"] == "header" and header["required"] is False and header["description"]


def test_idempotent_marks_the_operation_it_wraps():
    from ninja import Router

    router = Router()

    @router.post("/things")
    @idempotent
    def create_thing(request):
        return {}

    (operation,) = router.path_operations["/things"].operations
    assert operation.honours_idempotency_key is True


@pytest.mark.parametrize(
    ("schema_name", "field", "values"),
    [
        ("AppointmentOut", "status", {"SCHEDULED", "CONFIRMED", "IN_PROGRESS", "COMPLETED", "CANCELLED", "NO_SHOW"}),
        ("MemberOut", "role", {"owner", "admin", "staff"}),
        ("InvitationIn", "role", None),
        ("MessageOut", "direction", {"inbound", "outbound"}),
        ("MessageOut", "status", None),
        ("CallOut", "direction", None),
        ("CallOut", "status", None),
        ("PlatformTenantOut", "status", None),
        ("TenantSettingsOut", "status", None),
        ("PaymentOut", "kind", None),
        ("WebhookEventOut", "status", None),
        ("QuoteOut", "status", {"DRAFT", "SENT", "ACCEPTED", "REJECTED", "EXPIRED"}),
    ],
)
def test_closed_sets_of_values_are_enums(schema, schema_name, field, values):
    definition = resolve(schema, component(schema, schema_name)["properties"][field])
    options = definition.get("enum") or [
        value for option in definition.get("anyOf", []) for value in resolve(schema, option).get("enum", [])
    ]

    assert options, f"{schema_name}.{field} is a free string"
    if values is not None:
        assert set(options) == values


def test_error_items_are_typed(schema):
    envelope = component(schema, "ErrorEnvelope")
    item = resolve(schema, envelope["properties"]["errors"]["items"])

    assert {"field", "message", "code", "conflicting_appointment_id", "variable", "limit"} <= set(item["properties"])
    assert item["properties"]["conflicting_appointment_id"]["anyOf"][0]["type"] == "integer"


@pytest.mark.parametrize("operation_id", ["quotes_pdf", "invoices_pdf", "portal_quotes_pdf", "portal_invoices_pdf"])
def test_pdfs_declare_their_media_type(schema, operation_id):
    content = operations(schema)[operation_id]["responses"]["200"]["content"]

    assert content == {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}


def test_the_calendar_feed_declares_its_media_type(schema):
    content = operations(schema)["appointments_calendar_ics"]["responses"]["200"]["content"]

    assert list(content) == ["text/calendar"]


def test_every_operation_and_parameter_is_described(schema):
    undescribed_operations = [
        operation_id for operation_id, operation in operations(schema).items() if not operation.get("description")
    ]
    undescribed_parameters = [
        f"{operation_id}: {param['name']}"
        for operation_id, operation in operations(schema).items()
        for param in operation.get("parameters", [])
        if not param.get("description")
    ]

    assert undescribed_operations == []
    assert undescribed_parameters == []


@pytest.mark.parametrize(
    "schema_name",
    ["RegisterIn", "CustomerIn", "CustomerOut", "AppointmentIn", "AppointmentOut", "QuoteIn", "QuoteOut", "InvoiceOut"],
)
def test_main_schemas_carry_examples(schema, schema_name):
    definition = component(schema, schema_name)
    examples = [name for name, field in definition["properties"].items() if "examples" in field or "example" in field]

    assert examples or "examples" in definition, schema_name


def test_the_tenant_settings_document_is_the_committed_one(schema):
    """/tenants/me composes every app's settings section (shared_apps/tenants/sections.py): its
    operations and schemas are the committed ones, whichever app owns a field."""
    committed = json.loads((Path(__file__).parent / "tenant_settings_openapi.json").read_text())
    names = committed["components"]

    assert {path: schema["paths"][path] for path in committed["paths"]} == committed["paths"]
    assert {name: component(schema, name) for name in names} == committed["components"]
