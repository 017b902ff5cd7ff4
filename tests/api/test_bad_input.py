"""Bad input answers a 4xx in the error envelope, never a 500. One test per
class of input that used to answer 500, each with a concrete request."""

import json

import pytest
from django.conf import settings
from django.test import Client

from tests.client import ApiClient
from tests.conftest import PASSWORD
from tests.isolation import assert_refused

BIGINT_OVERFLOW = 2**63  # 9223372036854775808


def _field(body: dict) -> str | None:
    return body["errors"][0]["field"]


# NUL characters: PostgreSQL text cannot hold them.


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/customers", {"name": "Ann\x00"}, "name"),
        ("/customers", {"name": "Ann", "notes": "a\x00b"}, "notes"),
        ("/tenants/me", {"business_hours": {"mon\x00": [["09:00", "12:00"]]}}, "business_hours"),
    ],
)
def test_nul_in_a_body_string_is_400_naming_the_field(tenant_a, path, body, field):
    client = tenant_a.api()
    response = client.patch(path, body) if path == "/tenants/me" else client.post(path, body)

    assert _field(assert_refused(response, 400)) == field


def test_nul_in_a_nested_body_string_is_400(tenant_a):
    customer = tenant_a.api().post("/customers", {"name": "Ann"}).json()
    item = {"description": "Fix\x00", "quantity": "1", "unit_price": 100}

    response = tenant_a.api().post("/invoices", {"customer_id": customer["id"], "items": [item]})

    assert _field(assert_refused(response, 400)) == "items.0.description"


def test_nul_in_a_query_parameter_is_400_naming_it(tenant_a):
    body = assert_refused(tenant_a.api().get("/customers", search="ann\x00"), 400)

    assert _field(body) == "search"


def test_nul_in_a_header_is_400_naming_it(tenant_a):
    response = tenant_a.api().post("/customers", {"name": "Ann"}, headers={"Idempotency-Key": "key\x00"})

    assert _field(assert_refused(response, 400)).lower() == "idempotency-key"


def test_nul_in_the_path_is_400(tenant_a):
    assert _field(assert_refused(tenant_a.api().get("/customers/%00"), 400)) == "path"


# Integers PostgreSQL cannot store or use.


@pytest.mark.parametrize("query", [{"offset": BIGINT_OVERFLOW}, {"offset": 10**40}, {"limit": BIGINT_OVERFLOW}])
def test_offset_or_limit_beyond_range_is_400(tenant_a, query):
    for path in ("/customers", "/appointments", "/quotes", "/invoices"):
        assert_refused(tenant_a.api().get(path, **query), 400)


def test_integer_beyond_bigint_in_a_body_is_400(tenant_a):
    response = tenant_a.api().post("/quotes", {"customer_id": BIGINT_OVERFLOW})

    assert _field(assert_refused(response, 400)) == "customer_id"


def test_integer_beyond_bigint_in_a_filter_is_400(tenant_a):
    assert _field(assert_refused(tenant_a.api().get("/invoices", customer_id=BIGINT_OVERFLOW), 400)) == "customer_id"


@pytest.mark.parametrize("path", ["/customers/{id}", "/appointments/{id}", "/invoices/{id}/payments"])
def test_id_beyond_bigint_in_the_path_is_400(tenant_a, path):
    body = assert_refused(tenant_a.api().get(path.format(id=BIGINT_OVERFLOW)), 400)

    assert _field(body).endswith("_id")


def test_integer_beyond_range_in_tenant_settings_is_400(tenant_a):
    assert_refused(tenant_a.api().patch("/tenants/me", {"payment_terms_days": BIGINT_OVERFLOW}), 400)


# Date-times PostgreSQL cannot store.


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("2030-01-01T10:00:00+16:00", "2030-01-01T11:00:00+16:00"),  # offset beyond +15:59
        ("2030-01-01T10:00:00-23:59", "2030-01-01T11:00:00-23:59"),
        ("9999-12-31T23:00:00-05:00", "9999-12-31T23:30:00-05:00"),  # year 10000 in UTC
        ("0001-01-01T00:30:00+01:00", "0001-01-01T00:45:00+01:00"),  # year 0 in UTC
    ],
)
def test_unstorable_datetime_in_a_body_is_400(tenant_a, starts_at, ends_at):
    customer = tenant_a.api().post("/customers", {"name": "Ann"}).json()
    body = {"customer_id": customer["id"], "title": "Visit", "starts_at": starts_at, "ends_at": ends_at}

    assert _field(assert_refused(tenant_a.api().post("/appointments", body), 400)) == "starts_at"


def test_unstorable_datetime_in_a_filter_is_400(tenant_a):
    response = tenant_a.api().get("/appointments", **{"from": "2030-06-12T12:24:33+16:24"})

    assert _field(assert_refused(response, 400)) == "from"


def test_unstorable_payment_time_is_400(tenant_a):
    customer = tenant_a.api().post("/customers", {"name": "Ann"}).json()
    item = {"description": "Fix", "quantity": "1", "unit_price": 1000}
    invoice = tenant_a.api().post("/invoices", {"customer_id": customer["id"], "items": [item]}).json()
    tenant_a.api().patch(f"/invoices/{invoice['id']}/status", {"status": "SENT"})
    payment = {"amount": 100, "method": "cash", "occurred_at": "9999-12-31T23:59:00-01:00"}

    response = tenant_a.api().post(f"/invoices/{invoice['id']}/payments", payment)

    assert _field(assert_refused(response, 400)) == "occurred_at"


# null for a field that may be omitted but is not nullable.


@pytest.mark.parametrize(
    "field", ["name", "business_hours", "appointment_buffer_minutes", "timezone", "quote_prefix", "sms_sender"]
)
def test_null_tenant_setting_is_400_and_changes_nothing(tenant_a, field):
    before = tenant_a.api().get("/tenants/me").json()

    response = tenant_a.api().patch("/tenants/me", {field: None})

    assert _field(assert_refused(response, 400)) == field
    assert tenant_a.api().get("/tenants/me").json() == before


@pytest.mark.parametrize(
    "business_hours",
    [{"mon": [["09:00"]]}, {"mon": [["9", "x"]]}, {"someday": [["09:00", "12:00"]]}, {"mon": [["09:00", "25:00"]]}],
)
def test_malformed_business_hours_are_400(tenant_a, business_hours):
    assert_refused(tenant_a.api().patch("/tenants/me", {"business_hours": business_hours}), 400)


def test_null_customer_name_is_400_not_the_string_none(tenant_a):
    customer = tenant_a.api().post("/customers", {"name": "Ann"}).json()

    response = tenant_a.api().patch(f"/customers/{customer['id']}", {"name": None, "version": customer["version"]})

    assert _field(assert_refused(response, 400)) == "name"
    assert tenant_a.api().get(f"/customers/{customer['id']}").json()["name"] == "Ann"


def test_null_clears_a_nullable_customer_field(tenant_a):
    customer = tenant_a.api().post("/customers", {"name": "Ann", "notes": "gate code 12"}).json()

    response = tenant_a.api().patch(f"/customers/{customer['id']}", {"notes": None, "version": customer["version"]})

    assert response.status_code == 200, response.content
    assert response.json()["notes"] == ""


def test_null_sms_opt_out_is_400(tenant_a):
    customer = tenant_a.api().post("/customers", {"name": "Ann"}).json()

    response = tenant_a.api().patch(
        f"/customers/{customer['id']}", {"sms_opt_out": None, "version": customer["version"]}
    )

    assert _field(assert_refused(response, 400)) == "sms_opt_out"


# Bodies: too big, or not JSON.


def test_body_over_the_limit_is_413_in_the_envelope(tenant_a):
    notes = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)

    body = assert_refused(tenant_a.api().post("/customers", {"name": "Ann", "notes": notes}), 413)

    assert body["errors"][0]["code"] == "body_too_large"


def test_body_over_the_limit_with_idempotency_key_is_413(tenant_a):
    notes = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = tenant_a.api().post("/customers", {"name": "Ann", "notes": notes}, headers={"Idempotency-Key": "k-1"})

    assert_refused(response, 413)


def test_body_over_the_limit_outside_the_api_is_413_too(db):
    form = {"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}

    response = Client().post("/admin/login/", data=form, HTTP_HOST=settings.BASE_DOMAIN)

    assert_refused(response, 413)


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("text/plain", "name=Ann"),
        ("application/x-www-form-urlencoded", "name=Ann"),
        ("application/json", b"\xff\xfe{not utf-8"),
        ("application/json", "[1, 2]"),
        ("application/json", '"just a string"'),
    ],
)
def test_body_that_is_not_a_json_object_is_400(tenant_a, content_type, data):
    response = Client().post(
        "/api/v1/customers",
        data=data,
        content_type=content_type,
        HTTP_HOST=tenant_a.host,
        HTTP_AUTHORIZATION=f"Bearer {tenant_a.owner_token}",
    )

    assert_refused(response, 400, 415)


# Hosts.


def test_register_on_a_tenant_host_is_4xx(tenant_a):
    body = {"business_name": "Other Co", "email": "new-owner@other.test", "password": PASSWORD}

    response = ApiClient(host=tenant_a.host).post("/auth/register", body)

    assert_refused(response, 400, 403, 404)


def test_register_on_the_api_host_with_a_tenant_token_works(tenant_a):
    body = {"business_name": "Other Co", "email": "new-owner@other.test", "password": PASSWORD}

    response = tenant_a.api(on_api_host=True).post("/auth/register", body)

    assert response.status_code == 201, response.content
    assert response.json()["tenant"]["slug"] == "other-co"


def test_uppercase_tenant_host_resolves_like_lowercase(tenant_a):
    response = tenant_a.api().on_host(tenant_a.host.upper()).get("/tenants/me")

    assert response.status_code == 200, response.content
    assert response.json()["slug"] == tenant_a.slug


# The OpenAPI document lists the error answers with the envelope.


def test_openapi_documents_error_statuses_with_the_envelope(api_host: ApiClient):
    document = api_host.get("/openapi.json").json()
    customers = document["paths"]["/api/v1/customers"]
    register = document["paths"]["/api/v1/auth/register"]["post"]

    assert {"400", "401", "403", "404", "409", "413", "422", "503"} <= set(customers["post"]["responses"])
    assert {"400", "401", "403", "404", "503"} <= set(customers["get"]["responses"])
    assert "429" in register["responses"]
    envelope_ref = customers["get"]["responses"]["401"]["content"]["application/json"]["schema"]["$ref"]
    envelope = document["components"]["schemas"][envelope_ref.rsplit("/", 1)[-1]]
    assert set(envelope["required"]) == {"statusCode", "timestamp", "message", "errors", "path", "requestId"}
    assert json.dumps(customers["get"]["responses"]["200"]) != json.dumps(customers["get"]["responses"]["401"])


# Other hand-made inputs at the edges: whatever the answer, never a 5xx, errors in the envelope.

ITEM = {"description": "Fix", "quantity": "1", "unit_price": 1000}
EDGE_QUERIES = [
    ("/appointments/availability", {"date": "9999-12-31", "duration_minutes": 60}),
    ("/appointments/availability", {"date": "0001-01-01", "duration_minutes": 60}),
    ("/appointments", {"from": "9999-12-31T23:59:59+00:00"}),
    ("/appointments", {"to": "0001-01-01T00:00:00+00:00"}),
    ("/appointments", {"status": "SCHEDULED,\x01,"}),
    ("/customers", {"search": "%_\\'\"" * 40}),
    ("/customers/-1", {}),
    ("/quotes/1.5", {}),
    ("/customers/1/history", {"cursor": "x" * 10_000}),
    ("/customers/1/history", {"cursor": "\x00:\u2603"}),
]
# Bodies, given the id of an existing customer.
EDGE_BODIES = [
    ("POST", "/appointments/calendar-feeds", lambda customer: {"staff_id": 2**63}),
    (
        "POST",
        "/appointments",
        lambda customer: {
            "customer_id": customer,
            "title": "x",
            "starts_at": "9999-12-31T10:00:00Z",
            "ends_at": "9999-12-31T11:00:00Z",
        },
    ),
    ("POST", "/quotes", lambda customer: {"customer_id": customer, "items": [ITEM], "valid_until": "9999-12-31"}),
    ("POST", "/invoices", lambda customer: {"customer_id": customer, "items": [ITEM], "due_date": "0001-01-01"}),
    ("POST", "/invoices", lambda customer: {"customer_id": customer, "items": [{**ITEM, "quantity": "1e999"}]}),
    ("POST", "/invoices", lambda customer: {"customer_id": customer, "items": [{**ITEM, "tax_rate": "NaN"}]}),
    ("POST", "/invoices", lambda customer: {"customer_id": customer, "items": [{**ITEM, "quantity": "-0"}]}),
    ("POST", "/customers", lambda customer: '{"name": "x", "sms_opt_out": 1e999}'),
    ("POST", "/customers", lambda customer: '{"name": "\\ud800"}'),
    ("POST", "/customers", lambda customer: '{"name": "x", "\\u0000": 1}'),
    ("POST", "/customers", lambda customer: "[" * 100_000 + "]" * 100_000),
    ("POST", "/customers", lambda customer: ""),
    ("POST", "/quotes", lambda customer: '{"customer_id": 1e30}'),
    ("PATCH", "/tenants/me", lambda customer: {"business_hours": {"mon": [["09:00", "12:00", "13:00"]]}}),
    ("PATCH", "/tenants/me", lambda customer: {"business_hours": {"mon": [["", ""]]}}),
    ("PATCH", "/tenants/me", lambda customer: {"business_hours": {"mon": "09:00-17:00"}}),
    ("PATCH", "/tenants/me", lambda customer: {"timezone": "../../etc/passwd"}),
    ("PATCH", "/tenants/me", lambda customer: {"timezone": "A" * 5000}),
    ("PATCH", "/tenants/me", lambda customer: {"country": "ZZZ" * 100}),
    ("PATCH", "/tenants/me", lambda customer: {"currency": "x" * 1000}),
    ("PATCH", "/tenants/me", lambda customer: {"quote_prefix": "\u00e9"}),
    ("POST", "/auth/login", lambda customer: {"email": "a" * 300, "password": "x"}),
    ("POST", "/auth/refresh", lambda customer: {"refresh_token": "\ud800"}),
    ("POST", "/auth/register", lambda customer: {"business_name": "\x00", "email": "x@y.test", "password": PASSWORD}),
    (
        "POST",
        "/auth/register",
        lambda customer: {"business_name": "Co", "email": "x@y.test", "password": PASSWORD, "slug": "-" * 63},
    ),
]


def assert_no_server_error(response) -> None:
    assert response.status_code < 500, response.content[:300]
    assert response.status_code < 400 or assert_refused(response, response.status_code)


@pytest.mark.parametrize(("path", "query"), EDGE_QUERIES, ids=[path for path, _ in EDGE_QUERIES])
def test_edge_queries_never_answer_a_server_error(tenant_a, path, query):
    assert_no_server_error(tenant_a.api().get(path, **query))


@pytest.mark.parametrize(("method", "path", "make_body"), EDGE_BODIES, ids=[f"{m} {p}" for m, p, _ in EDGE_BODIES])
def test_edge_bodies_never_answer_a_server_error(tenant_a, method, path, make_body):
    customer = tenant_a.api().post("/customers", {"name": "Ann"}).json()

    assert_no_server_error(tenant_a.api().request(method, path, make_body(customer["id"])))


def test_openapi_shows_patch_fields_nullable_only_where_null_is_accepted(api_host: ApiClient):
    schemas = api_host.get("/openapi.json").json()["components"]["schemas"]

    assert schemas["TenantSettingsIn"]["properties"]["name"] == {"maxLength": 200, "title": "Name", "type": "string"}
    assert {"type": "null"} in schemas["AppointmentPatch"]["properties"]["staff_id"]["anyOf"]
