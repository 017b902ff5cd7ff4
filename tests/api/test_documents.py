"""The draft routes quotes and invoices share (api/documents.add_draft_routes): each kind keeps
its own path parameter, operation ids, PDF name and Idempotency-Key replay on create."""

import pytest

from tenant_apps.invoices.models import Invoice
from tenant_apps.quotes.models import Quote
from tests.factories import CustomerFactory
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
