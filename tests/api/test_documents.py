"""The draft routes quotes and invoices share (api/documents.add_draft_routes): each kind keeps
its own path parameter, operation ids, PDF name and Idempotency-Key replay on create."""

from io import BytesIO

import pytest
from pypdf import PdfReader

from tenant_apps.invoices.models import Invoice
from tenant_apps.quotes.models import Quote
from tests.factories import CustomerFactory
from tests.isolation import assert_refused
from tests.tenant_apps.invoices.factories import draft_invoice
from tests.tenant_apps.quotes.factories import draft_quote

ITEM = {"description": "Fit a tap", "quantity": "1", "unit_price": 4000}
KINDS = [
    pytest.param("quote", Quote, draft_quote, id="quotes"),
    pytest.param("invoice", Invoice, draft_invoice, id="invoices"),
]


@pytest.mark.parametrize(("kind", "model", "make_draft"), KINDS)
def test_create_replays_under_its_idempotency_key_and_creates_once(tenant_a, kind, model, make_draft):
    with tenant_a.schema():
        body = {"customer_id": CustomerFactory().pk, "items": [ITEM]}
    api = tenant_a.api()

    first = api.request("POST", f"/{kind}s", body, headers={"Idempotency-Key": f"{kind}-1"})
    again = api.request("POST", f"/{kind}s", body, headers={"Idempotency-Key": f"{kind}-1"})

    assert first.status_code == again.status_code == 201, first.content
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    with tenant_a.schema():
        assert model.objects.count() == 1


@pytest.mark.parametrize(("kind", "model", "make_draft"), KINDS)
def test_pdf_is_named_after_the_kind_and_id(tenant_a, kind, model, make_draft):
    with tenant_a.schema():
        document_id = make_draft(tenant_a.tenant).pk

    response = tenant_a.api().get(f"/{kind}s/{document_id}/pdf")

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'inline; filename="{kind}-{document_id}.pdf"'


@pytest.mark.parametrize("kind", ["quote", "invoice"])
def test_openapi_keeps_each_kinds_operation_ids_and_path_parameter(api_host, kind):
    paths = api_host.get("/openapi.json").json()["paths"]
    prefix = f"/api/v1/{kind}s"
    document = f"{prefix}/{{{kind}_id}}"

    operations = {
        (path, method): paths[path][method] for path in (prefix, document, f"{document}/pdf") for method in paths[path]
    }

    assert {key: operation["operationId"] for key, operation in operations.items()} == {
        (prefix, "get"): f"{kind}s_list",
        (prefix, "post"): f"{kind}s_create",
        (document, "get"): f"{kind}s_get",
        (document, "patch"): f"{kind}s_update",
        (document, "delete"): f"{kind}s_delete",
        (f"{document}/pdf", "get"): f"{kind}s_pdf",
    }
    for (path, _), operation in operations.items():
        path_parameters = [param["name"] for param in operation.get("parameters", []) if param["in"] == "path"]
        assert path_parameters == ([f"{kind}_id"] if path != prefix else [])
    assert operations[(prefix, "get")]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": f"#/components/schemas/Paged{kind.title()}Out"
    }
    assert operations[(document, "delete")]["description"].startswith(f"Deletes a draft; a numbered {kind} answers 409")


CONTACT = {
    "address": "12 Harbour Road\nSpringfield, IL 62701",
    "phone": "+1 202 555 0123",
    "email": "office@alpha-plumbing.test",
    "tax_id": "EIN 12-3456789",
}


@pytest.mark.parametrize(("kind", "model", "make_draft"), KINDS)
def test_pdf_prints_the_business_contact_details(tenant_a, kind, model, make_draft):
    # Given the business filled in its contact details
    saved = tenant_a.api().patch("/tenants/me", CONTACT)
    assert saved.status_code == 200, saved.content
    assert {field: saved.json()[field] for field in CONTACT} == {**CONTACT, "phone": "+12025550123"}
    with tenant_a.schema():
        document_id = make_draft(tenant_a.tenant).pk

    # When its PDF is read back
    response = tenant_a.api().get(f"/{kind}s/{document_id}/pdf")

    # Then the header carries them
    assert response.status_code == 200
    text = "\n".join(page.extract_text() for page in PdfReader(BytesIO(response.content)).pages)
    for expected in ("12 Harbour Road", "Springfield, IL 62701", "+12025550123", CONTACT["email"], "EIN 12-3456789"):
        assert expected in text
    assert "Tax ID: EIN 12-3456789" in text


def test_cleared_contact_details_leave_the_pdf(tenant_a):
    tenant_a.api().patch("/tenants/me", CONTACT)
    cleared = tenant_a.api().patch("/tenants/me", {"address": "", "phone": "", "email": "", "tax_id": ""})
    assert cleared.status_code == 200
    with tenant_a.schema():
        quote_id = draft_quote(tenant_a.tenant).pk

    text = PdfReader(BytesIO(tenant_a.api().get(f"/quotes/{quote_id}/pdf").content)).pages[0].extract_text()

    assert "Harbour" not in text and "Tax ID" not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "202 555 0123"),
        ("phone", "+1 555"),
        ("email", "not-an-email"),
        ("tax_id", "<script>"),
        ("address", "\n".join(f"line {n}" for n in range(6))),
    ],
)
def test_contact_details_are_validated(tenant_a, field, value):
    body = assert_refused(tenant_a.api().patch("/tenants/me", {field: value}), 400)

    assert body["errors"][0]["field"] == field


def test_a_pdf_prints_its_own_business_never_another(tenant_a, tenant_b):
    assert tenant_a.api().patch("/tenants/me", CONTACT).status_code == 200
    with tenant_b.schema():
        quote_id = draft_quote(tenant_b.tenant).pk

    pdf = tenant_b.api().get(f"/quotes/{quote_id}/pdf")
    text = PdfReader(BytesIO(pdf.content)).pages[0].extract_text()

    assert pdf.status_code == 200
    assert "Harbour" not in text and CONTACT["email"] not in text
    assert_refused(tenant_a.api().get(f"/quotes/{quote_id}/pdf"), 404)
