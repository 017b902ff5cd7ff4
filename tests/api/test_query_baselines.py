"""Every operation of the OpenAPI document, and each loopback-only route of the API that the
document leaves out (/tls/ask, /metrics), has a committed query-count baseline
(tests/api/query_counts.json), or a reason here why it is counted another way. The routes the
generic cases (tests/api/generic.py) do not reach are counted below with a realistic request;
where a list is involved, with a few rows and with many, which must cost the same.

Baselines are keyed "METHOD /path" without /api/v1, every path parameter written `{id}`; a
route counted in several situations adds one key per situation: "POST /voice/webhook
(tool-calls)". Rewrite them only by `UPDATE_QUERY_COUNTS=1` (see generic.py)."""

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from api.main import api
from shared_apps.accounts.models import User
from shared_apps.audit.models import AuditEvent
from shared_apps.outbox.models import OutboxMessage
from shared_apps.tenants.models import CustomDomain, Tenant
from shared_apps.tenants.provisioning import create_pooled_tenant
from shared_apps.webhooks.models import WebhookEvent
from tenant_apps.appointments.models import SeriesOccurrence
from tenant_apps.payments.services import record_manual_payment
from tests import conftest
from tests.api.generic import _load_baselines, assert_query_count, counted
from tests.api.test_payments import confirm
from tests.client import ApiClient
from tests.conftest import PASSWORD
from tests.factories import CustomerFactory
from tests.stripe_sandbox import connect, deliver, events_of, post_event
from tests.tenant_apps.billing.factories import item
from tests.tenant_apps.invoices.factories import draft_invoice, sent_invoice
from tests.tenant_apps.quotes.factories import accepted_quote, draft_quote
from tests.tenant_apps.voice.conftest import local, next_business_day

# Operations counted another way, and why.
NOT_COUNTED_HERE: dict[str, str] = {}


PATH_PARAMETER = re.compile(r"\{\w+\}")


def route_key(method: str, path: str) -> str:
    path = PATH_PARAMETER.sub("{id}", path.removeprefix("/api/v1"))
    return f"{method.upper()} {path}"


def operations() -> set[str]:
    """The OpenAPI document's operations, and the API's loopback-only ones it leaves out."""
    schema = api.get_openapi_schema()
    documented = {route_key(method, path) for path, item in schema["paths"].items() for method in item}
    hidden = {
        route_key(method, f"{prefix.rstrip('/')}{path}")
        for prefix, router in api._routers
        for path, path_view in router.path_operations.items()
        for operation in path_view.operations
        if not operation.include_in_schema
        for method in operation.methods
    }
    return documented | hidden


def test_every_operation_has_a_committed_baseline():
    baselines = _load_baselines()
    counted_routes = {key.split(" (")[0] for key in baselines}

    missing = sorted(operations() - counted_routes - NOT_COUNTED_HERE.keys())

    assert not missing, f"no query-count baseline (count it in a test, or say why in NOT_COUNTED_HERE): {missing}"


def test_baselines_and_reasons_name_only_operations_that_exist():
    known = operations()

    assert {key.split(" (")[0] for key in _load_baselines()} <= known
    assert set(NOT_COUNTED_HERE) <= known
    assert not set(NOT_COUNTED_HERE) & {key.split(" (")[0] for key in _load_baselines()}


def measure(client: ApiClient, method: str, path: str, body: Any = None, **query: Any) -> tuple[Any, list[str]]:
    """One call after a warm-up request (tenant, membership and token caches), and its SQL: a
    GET is warmed by itself, anything else by a read on the same host."""
    if method == "GET":
        client.request(method, path, body, **query)
    elif client.token:
        client.get("/auth/me" if client.host == settings.BASE_DOMAIN else "/tenants/me")
    with CaptureQueriesContext(connection) as captured:
        response = client.request(method, path, body, **query)
    return response, counted(captured)


def count(route: str, client: ApiClient, method: str, path: str, body: Any = None, **query: Any):
    response, queries = measure(client, method, path, body, **query)
    assert_query_count(route, queries)
    return response


def count_list(route: str, client: ApiClient, path: str, add_rows: Callable[[int], Any], **query: Any):
    """GET `path` with a few rows and with 20 more: the same number of queries, the baseline."""
    add_rows(2)
    few, few_queries = measure(client, "GET", path, **query)
    add_rows(20)
    many, many_queries = measure(client, "GET", path, **query)

    assert (few.status_code, many.status_code) == (200, 200), many.content
    assert len(many_queries) == len(few_queries), "\n".join(many_queries)
    assert_query_count(route, many_queries)
    return many


@pytest.fixture
def platform_api(db, api_host) -> ApiClient:
    User.objects.create_superuser("root@platform.test", PASSWORD)
    tokens = api_host.post("/auth/login", {"email": "root@platform.test", "password": PASSWORD}).json()
    return api_host.with_token(tokens["access_token"])


def customer_id(test_tenant: conftest.TestTenant) -> int:
    with test_tenant.schema():
        return CustomerFactory().pk


# Operations and health


def test_health_and_ready(api_host):
    assert count("GET /health", api_host, "GET", "/health").status_code == 200
    assert count("GET /ready", api_host, "GET", "/ready").status_code == 200


def test_loopback_only_routes(tenant_a, api_host):
    asked = count("GET /tls/ask", api_host, "GET", "/tls/ask", domain=tenant_a.host)
    assert asked.status_code == 200, asked.content
    assert count("GET /metrics", api_host, "GET", "/metrics").status_code == 200


# Accounts


def test_register_claims_a_pooled_schema(api_host):
    create_pooled_tenant()
    body = {"business_name": "Zed Electric", "email": "zed@zed.test", "password": PASSWORD, "slug": "zed-electric"}

    assert count("POST /auth/register", api_host, "POST", "/auth/register", body).status_code == 201


def test_login_refresh_me_logout(tenant_a, api_host):
    credentials = {"email": tenant_a.owner.email, "password": PASSWORD}
    tokens = count("POST /auth/login", api_host, "POST", "/auth/login", credentials).json()
    refreshed = count(
        "POST /auth/refresh", api_host, "POST", "/auth/refresh", {"refresh_token": tokens["refresh_token"]}
    ).json()
    client = api_host.with_token(refreshed["access_token"])

    assert count("GET /auth/me", client, "GET", "/auth/me").status_code == 200
    logout = count("POST /auth/logout", client, "POST", "/auth/logout", {"refresh_token": refreshed["refresh_token"]})
    assert logout.status_code in (200, 204), logout.content


def test_accept_invite_and_resend(tenant_a, api_host):
    invited = tenant_a.api().post("/invitations", {"email": "new@alpha.test", "role": "staff"}).json()
    resent = count("POST /invitations/{id}/resend", tenant_a.api(), "POST", f"/invitations/{invited['id']}/resend")
    token = re.search(r"token=([\w-]+)", resent.json()["accept_url"]).group(1)
    assert resent.status_code in (200, 201), resent.content

    accepted = count(
        "POST /auth/accept-invite", api_host, "POST", "/auth/accept-invite", {"token": token, "password": PASSWORD}
    )
    assert accepted.status_code in (200, 201), accepted.content


# The business's settings and domains


def test_tenant_settings(tenant_a):
    assert count("GET /tenants/me", tenant_a.api(), "GET", "/tenants/me").status_code == 200
    changed = count("PATCH /tenants/me", tenant_a.api(), "PATCH", "/tenants/me", {"name": "Alpha Plumbing"})
    assert changed.status_code == 200, changed.content


def test_search_settings(tenant_a):
    assert count("GET /search/settings", tenant_a.api(), "GET", "/search/settings").status_code == 200
    changed = count("PATCH /search/settings", tenant_a.api(), "PATCH", "/search/settings", {"language": "english"})
    assert changed.status_code == 200, changed.content


def test_domains(tenant_a):
    client = tenant_a.api()
    made: list[int] = []

    def add_domains(number: int) -> None:
        for _ in range(number):
            domain = f"book{len(made)}.alpha.test"
            made.append(CustomDomain.objects.create(tenant=tenant_a.tenant, domain=domain, verification_token="t").pk)

    count_list("GET /tenants/me/domains", client, "/tenants/me/domains", add_domains, limit=200)
    CustomDomain.objects.filter(pk__in=made[2:]).delete()  # under the business's limit again
    claimed = count("POST /tenants/me/domains", client, "POST", "/tenants/me/domains", {"domain": "new.alpha.test"})
    assert claimed.status_code == 201, claimed.content
    # POST /tenants/me/domains/{id}/verify asks DNS: counted in test_custom_domains.py, against a loopback DNS.
    deleted = count("DELETE /tenants/me/domains/{id}", client, "DELETE", f"/tenants/me/domains/{made[1]}")
    assert deleted.status_code == 204, deleted.content


# Platform administration


def test_platform_tenants(platform_api, tenant_a):
    def add_tenants(number: int) -> None:
        start = Tenant.objects.count()
        # Rows only (bulk_create makes no schema): the list reads nothing else.
        Tenant.objects.bulk_create(
            Tenant(schema_name=f"t_listed_{start + n}", slug=f"listed-{start + n}", name="Listed", status="active")
            for n in range(number)
        )

    count_list("GET /platform/tenants", platform_api, "/platform/tenants", add_tenants, limit=200)
    create_pooled_tenant()
    created = count(
        "POST /platform/tenants", platform_api, "POST", "/platform/tenants", {"slug": "made", "name": "Made"}
    )
    assert created.status_code == 201, created.content
    url = f"/platform/tenants/{created.json()['id']}"

    assert count("GET /platform/tenants/{id}", platform_api, "GET", url).status_code == 200
    assert count("PATCH /platform/tenants/{id}", platform_api, "PATCH", url, {"status": "suspended"}).status_code == 200
    assert count("DELETE /platform/tenants/{id}", platform_api, "DELETE", url).status_code == 204
    restored = count("POST /platform/tenants/{id}/restore", platform_api, "POST", f"{url}/restore")
    assert restored.status_code == 200, restored.content


def test_platform_webhook_events_and_outbox(platform_api, tenant_a):
    def add_events(number: int) -> None:
        start = WebhookEvent.objects.count()
        WebhookEvent.objects.bulk_create(
            WebhookEvent(provider="twilio", dedupe_key=f"evt-{start + n}", body=b"{}", tenant=tenant_a.tenant)
            for n in range(number)
        )

    def add_messages(number: int) -> None:
        schema = tenant_a.tenant.schema_name
        OutboxMessage.objects.bulk_create(
            OutboxMessage(actor_name="send_sms", schema_name=schema) for _ in range(number)
        )

    count_list("GET /platform/webhook-events", platform_api, "/platform/webhook-events", add_events)
    count_list("GET /platform/outbox", platform_api, "/platform/outbox", add_messages)


def test_audit_trails(platform_api, tenant_a):
    def add_rows(number: int) -> None:
        AuditEvent.objects.bulk_create(
            AuditEvent(tenant_id=tenant_a.tenant.pk, action="auth.login", actor="system") for _ in range(number)
        )

    count_list("GET /audit-events", tenant_a.api(), "/audit-events", add_rows, limit=200)
    count_list("GET /platform/audit-events", platform_api, "/platform/audit-events", add_rows, limit=200)


def test_platform_flags(platform_api, tenant_a):
    url = f"/platform/tenants/{tenant_a.tenant.pk}/flags"

    assert count("GET /platform/flags", platform_api, "GET", "/platform/flags").status_code == 200
    rolled = count("PUT /platform/flags/{id}", platform_api, "PUT", "/platform/flags/sms", {"rollout_percent": 50})
    listed = count("GET /platform/tenants/{id}/flags", platform_api, "GET", url)
    switched = count("PUT /platform/tenants/{id}/flags/{id}", platform_api, "PUT", f"{url}/sms", {"enabled": False})

    assert (rolled.status_code, listed.status_code, switched.status_code) == (200, 200, 200), switched.content


# Customers and the calendar


def test_customer_history(tenant_a):
    customer = customer_id(tenant_a)

    def add_documents(number: int) -> None:
        with tenant_a.schema():
            for _ in range(number):
                draft_quote(tenant_a.tenant, customer_id=customer)

    count_list("GET /customers/{id}/history", tenant_a.api(), f"/customers/{customer}/history", add_documents, limit=50)


def book(test_tenant: conftest.TestTenant, day: date, hour: int, customer: int) -> dict:
    body = {
        "customer_id": customer,
        "staff_id": test_tenant.owner.pk,
        "title": "Visit",
        "starts_at": local(day, hour, test_tenant.tenant.zone).isoformat(),
        "ends_at": (local(day, hour, test_tenant.tenant.zone) + timedelta(minutes=30)).isoformat(),
    }
    response = test_tenant.api().post("/appointments", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_availability_and_calendar_feed(tenant_a):
    customer = customer_id(tenant_a)
    day = next_business_day(tenant_a.tenant.zone)
    booked: list[dict] = []

    def add_appointments(number: int) -> None:
        for _ in range(number):
            slot = len(booked)
            booked.append(book(tenant_a, day + timedelta(weeks=slot // 8), 9 + slot % 8, customer))

    count_list(
        "GET /appointments/availability",
        tenant_a.api(),
        "/appointments/availability",
        add_appointments,
        date=str(day),
        duration_minutes=30,
    )
    feed = count("POST /appointments/calendar-feeds", tenant_a.api(), "POST", "/appointments/calendar-feeds", {})
    assert feed.status_code in (200, 201), feed.content
    anonymous = ApiClient(host=tenant_a.host)
    calendar = count(
        "GET /appointments/calendar.ics", anonymous, "GET", "/appointments/calendar.ics", token=feed.json()["token"]
    )
    assert calendar.status_code == 200, calendar.content


def test_appointment_transition_and_cancel(tenant_a):
    customer = customer_id(tenant_a)
    first, second = (book(tenant_a, next_business_day(tenant_a.tenant.zone), hour, customer) for hour in (9, 11))

    moved = count(
        "POST /appointments/{id}/transition",
        tenant_a.api(),
        "POST",
        f"/appointments/{first['id']}/transition",
        {"status": "CONFIRMED"},
    )
    assert moved.status_code == 200, moved.content
    cancelled = count("DELETE /appointments/{id}", tenant_a.api(), "DELETE", f"/appointments/{second['id']}")
    assert cancelled.status_code in (200, 204), cancelled.content


def test_series_occurrences_edit_and_end(tenant_a):
    start = local(next_business_day(tenant_a.tenant.zone), 9, tenant_a.tenant.zone)
    body = {
        "customer_id": customer_id(tenant_a),
        "title": "Pool cleaning",
        "starts_at": start.isoformat(),
        "duration_minutes": 60,
        "rrule": "FREQ=WEEKLY;COUNT=4",
    }
    series = tenant_a.api().post("/appointment-series", body).json()
    url = f"/appointment-series/{series['id']}"
    added: list[int] = []

    def add_conflicts(number: int) -> None:
        with tenant_a.schema():
            for _ in range(number):
                added.append(len(added))
                SeriesOccurrence.objects.create(
                    series_id=series["id"],
                    local_date=start.date() + timedelta(days=100 + len(added)),
                    status=SeriesOccurrence.Status.CONFLICT,
                    conflict={"code": "double_booking", "message": "Taken.", "details": []},
                )

    count_list("GET /appointment-series/{id}/occurrences", tenant_a.api(), f"{url}/occurrences", add_conflicts)
    # Another series' four upcoming visits, moved in place.
    url = f"/appointment-series/{tenant_a.api().post('/appointment-series', body).json()['id']}"
    edited = count(
        "PATCH /appointment-series/{id}",
        tenant_a.api(),
        "PATCH",
        url,
        {"version": 1, "scope": "all", "local_start": "10:00", "rrule": "FREQ=WEEKLY;COUNT=4"},
    )
    assert edited.status_code == 200, edited.content
    ended = count("DELETE /appointment-series/{id}", tenant_a.api(), "DELETE", f"{url}?version=2")
    assert ended.status_code == 200, ended.content


# Quotes and invoices: a document of many lines costs what a document of one costs.

MANY_ITEMS = [item(description=f"Line {n}") for n in range(12)]


def same_cost(route: str, call: Callable[[list], tuple[Any, list[str]]]) -> Any:
    """`call(items)` for a one-line document and a many-line one: same SQL count, the baseline."""
    one, one_queries = call([item()])
    many, many_queries = call(MANY_ITEMS)

    assert one.status_code == many.status_code, many.content
    assert len(one_queries) == len(many_queries), "\n".join(many_queries)
    assert_query_count(route, many_queries)
    return many


def make(test_tenant: conftest.TestTenant, factory: Callable[..., Any], items: list) -> Any:
    with test_tenant.schema():
        return factory(test_tenant.tenant, items=items)


def test_quote_pdf_status_and_convert(tenant_a):
    def pdf(items: list):
        return measure(tenant_a.api(), "GET", f"/quotes/{make(tenant_a, draft_quote, items).pk}/pdf")

    def send(items: list):
        quote = make(tenant_a, draft_quote, items)
        return measure(tenant_a.api(), "PATCH", f"/quotes/{quote.pk}/status", {"status": "SENT"})

    def convert(items: list):
        return measure(tenant_a.api(), "POST", f"/quotes/{make(tenant_a, accepted_quote, items).pk}/convert")

    assert same_cost("GET /quotes/{id}/pdf", pdf).status_code == 200
    assert same_cost("PATCH /quotes/{id}/status", send).status_code == 200
    assert same_cost("POST /quotes/{id}/convert", convert).status_code == 201


def test_invoice_pdf_status_and_payments(tenant_a):
    def pdf(items: list):
        return measure(tenant_a.api(), "GET", f"/invoices/{make(tenant_a, draft_invoice, items).pk}/pdf")

    def send(items: list):
        return measure(
            tenant_a.api(), "PATCH", f"/invoices/{make(tenant_a, draft_invoice, items).pk}/status", {"status": "SENT"}
        )

    def pay(items: list):
        invoice = make(tenant_a, sent_invoice, items)
        return measure(tenant_a.api(), "POST", f"/invoices/{invoice.pk}/payments", {"amount": 100, "method": "cash"})

    assert same_cost("GET /invoices/{id}/pdf", pdf).status_code == 200
    assert same_cost("PATCH /invoices/{id}/status", send).status_code == 200
    assert same_cost("POST /invoices/{id}/payments", pay).status_code == 201

    invoice = make(tenant_a, sent_invoice, [item(unit_price=100000)])

    def add_payments(number: int) -> None:
        with tenant_a.schema():
            for _ in range(number):
                record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash")

    count_list("GET /invoices/{id}/payments", tenant_a.api(), f"/invoices/{invoice.pk}/payments", add_payments)


# Texts


def test_sms_templates(tenant_a):
    client = tenant_a.api()
    made: list[int] = []

    def add_templates(number: int) -> None:
        for _ in range(number):
            body = {"name": f"T{len(made)}", "body": "Hi {customer_name}"}
            made.append(client.post("/sms/templates", body).json()["id"])

    count_list("GET /sms/templates", client, "/sms/templates", add_templates)
    created = count("POST /sms/templates", client, "POST", "/sms/templates", {"name": "New", "body": "Hello"})
    assert created.status_code == 201, created.content
    url = f"/sms/templates/{made[0]}"
    assert count("GET /sms/templates/{id}", client, "GET", url).status_code == 200
    assert count("PATCH /sms/templates/{id}", client, "PATCH", url, {"name": "Renamed"}).status_code == 200
    assert count("DELETE /sms/templates/{id}", client, "DELETE", url).status_code == 204


def test_sms_send(tenant_a):
    tenant_a.store_settings(sms_sender="+12025550500")
    customer = customer_id(tenant_a)
    sent = count(
        "POST /sms/send", tenant_a.api(), "POST", "/sms/send", {"customer_id": customer, "body": "See you at 9"}
    )
    assert sent.status_code in (201, 202), sent.content


# Card payments, against the Stripe sandbox


def test_card_payment_routes(stripe_sandbox, tenant_a):
    client = tenant_a.api()
    started = count(
        "POST /payments/connect", client, "POST", "/payments/connect", {"return_url": "https://app.example.test/done"}
    )
    assert started.status_code in (200, 201), started.content
    account = connect(tenant_a)
    assert count("GET /payments/connect", client, "GET", "/payments/connect").status_code == 200

    with tenant_a.schema():
        invoice, other = sent_invoice(tenant_a.tenant), sent_invoice(tenant_a.tenant, items=[item(unit_price=99999)])
    intent = count(
        "POST /payments/create-intent", client, "POST", "/payments/create-intent", {"invoice_id": invoice.pk}
    )
    assert intent.status_code in (200, 201), intent.content
    confirm(stripe_sandbox, account, intent.json()["payment_intent_id"])
    [succeeded] = events_of(stripe_sandbox, "payment_intent.succeeded")
    with CaptureQueriesContext(connection) as captured:
        assert post_event(succeeded).status_code == 200
    assert_query_count("POST /payments/webhook", counted(captured))
    deliver(stripe_sandbox.events)  # the job's work; the stored delivery is not stored again

    def add_payments(number: int) -> None:
        with tenant_a.schema():
            for _ in range(number):
                record_manual_payment(invoice_id=other.pk, amount=1, method="cash")

    listed = count_list("GET /payments", client, "/payments", add_payments, limit=200)
    [card] = [row for row in listed.json()["items"] if row["invoice_id"] == invoice.pk]
    refunded = count("POST /payments/{id}/refund", client, "POST", f"/payments/{card['id']}/refund", {"amount": 100})
    assert refunded.status_code in (200, 201), refunded.content
    link = count("POST /invoices/{id}/pay-link", client, "POST", f"/invoices/{other.pk}/pay-link")
    assert link.status_code in (200, 201), link.content


# Attachments


def test_attachments(tenant_a):
    from tests.tenant_apps.files.helpers import jpeg_with_gps, post_upload

    client = tenant_a.api()
    customer = customer_id(tenant_a)
    photo = jpeg_with_gps()
    body = {"filename": "a.jpg", "content_type": "image/jpeg", "size": len(photo)}
    parents = {"customers": customer}
    with tenant_a.schema():
        parents["quotes"] = draft_quote(tenant_a.tenant, customer_id=customer).pk
        parents["invoices"] = draft_invoice(tenant_a.tenant, customer_id=customer).pk
    day = (timezone.now() + timedelta(days=30)).date()
    booking = {"customer_id": customer, "title": "Leak", "starts_at": f"{day}T10:00:00Z", "ends_at": f"{day}T11:00:00Z"}
    parents["appointments"] = client.post("/appointments", booking).json()["id"]

    for path, parent in parents.items():
        started = count(f"POST /{path}/{{id}}/attachments", client, "POST", f"/{path}/{parent}/attachments", body)
        assert started.status_code == 201, started.content
        post_upload(started.json()["upload"], photo)
        done = client.post(f"/attachments/{started.json()['attachment']['id']}/complete")
        assert done.status_code == 200, done.content

        def add_attachments(number: int, path: str = path, parent: int = parent) -> None:
            for _ in range(number):
                added = client.post(f"/{path}/{parent}/attachments", body).json()
                post_upload(added["upload"], photo)
                client.post(f"/attachments/{added['attachment']['id']}/complete")

        count_list(f"GET /{path}/{{id}}/attachments", client, f"/{path}/{parent}/attachments", add_attachments)

    started = client.post(f"/customers/{customer}/attachments", body).json()
    attachment = started["attachment"]["id"]
    post_upload(started["upload"], photo)
    completed = count("POST /attachments/{id}/complete", client, "POST", f"/attachments/{attachment}/complete")
    assert completed.status_code == 200, completed.content
    assert count("GET /attachments/{id}", client, "GET", f"/attachments/{attachment}").status_code == 200
    assert (
        count("GET /attachments/{id}/download", client, "GET", f"/attachments/{attachment}/download").status_code == 200
    )
    patched = count("PATCH /attachments/{id}", client, "PATCH", f"/attachments/{attachment}", {"caption": "After"})
    assert patched.status_code == 200, patched.content
    assert count("DELETE /attachments/{id}", client, "DELETE", f"/attachments/{attachment}").status_code == 204
    assert count("GET /attachments/settings", client, "GET", "/attachments/settings").status_code == 200
    quota = count("PATCH /attachments/settings", client, "PATCH", "/attachments/settings", {"quota_bytes": 10**9})
    assert quota.status_code == 200, quota.content


def test_message_attachments(tenant_a):
    from tests.factories import TextMessageFactory

    with tenant_a.schema():
        message = TextMessageFactory().pk

    def add_media(number: int) -> None:
        from tenant_apps.files.services import attach_bytes
        from tests.tenant_apps.files.helpers import image_bytes

        with tenant_a.schema():
            for _ in range(number):
                attach_bytes(parent_type="message", parent_id=message, filename="mms.png", data=image_bytes("PNG"))

    count_list("GET /sms/messages/{id}/attachments", tenant_a.api(), f"/sms/messages/{message}/attachments", add_media)
