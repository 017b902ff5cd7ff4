"""Quotes and invoices refuse what no real job needs and would stall the PDF renderer: too
many line items, descriptions too long or of too many lines. Each refusal is a 400 that
names the limit, on create and on PATCH; a document exactly at every limit is accepted."""

import pytest

from tenant_apps.billing.items import MAX_DESCRIPTION_CHARS, MAX_DESCRIPTION_LINES, MAX_ITEMS
from tests.factories import CustomerFactory
from tests.isolation import assert_refused

ITEM = {"description": "Boiler service", "quantity": "1", "unit_price": 10000, "tax_rate": "5"}
DOCUMENTS = ["/quotes", "/invoices"]
# (items, the field named, what the message says)
OVER_A_LIMIT = {
    "too many items": ([ITEM] * (MAX_ITEMS + 1), "items", f"at most {MAX_ITEMS}"),
    "too many characters": (
        [ITEM, ITEM | {"description": "x" * (MAX_DESCRIPTION_CHARS + 1)}],
        "items.1.description",
        f"at most {MAX_DESCRIPTION_CHARS} characters",
    ),
    "too many lines": (
        [ITEM, ITEM, ITEM | {"description": "line\n" * MAX_DESCRIPTION_LINES}],
        "items.2.description",
        f"items[2].description: at most {MAX_DESCRIPTION_LINES} lines",
    ),
}
LARGEST_DESCRIPTION = "\n".join(["y" * (MAX_DESCRIPTION_CHARS // MAX_DESCRIPTION_LINES - 1)] * MAX_DESCRIPTION_LINES)


def customer_id(tenant) -> int:
    with tenant.schema():
        return CustomerFactory().pk


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize("case", OVER_A_LIMIT)
def test_create_over_a_limit_is_400_naming_it(tenant_a, path, case):
    items, field, limit = OVER_A_LIMIT[case]

    response = tenant_a.api().post(path, {"customer_id": customer_id(tenant_a), "items": items})

    error = assert_refused(response, 400)["errors"][0]
    assert error["field"] == field
    assert limit in error["message"]


@pytest.mark.parametrize("path", DOCUMENTS)
@pytest.mark.parametrize("case", OVER_A_LIMIT)
def test_patch_over_a_limit_is_400_naming_it_and_changes_nothing(tenant_a, path, case):
    items, field, limit = OVER_A_LIMIT[case]
    draft = tenant_a.api().post(path, {"customer_id": customer_id(tenant_a), "items": [ITEM]}).json()

    response = tenant_a.api().patch(f"{path}/{draft['id']}", {"version": draft["version"], "items": items})

    error = assert_refused(response, 400)["errors"][0]
    assert error["field"] == field
    assert limit in error["message"]
    after = tenant_a.api().get(f"{path}/{draft['id']}").json()
    assert (after["version"], len(after["items"])) == (draft["version"], 1)


@pytest.mark.parametrize("path", DOCUMENTS)
def test_a_document_at_every_limit_is_accepted_and_renders(tenant_a, path):
    assert len(LARGEST_DESCRIPTION) <= MAX_DESCRIPTION_CHARS
    assert LARGEST_DESCRIPTION.count("\n") + 1 == MAX_DESCRIPTION_LINES
    items = [ITEM | {"description": LARGEST_DESCRIPTION}] * MAX_ITEMS

    created = tenant_a.api().post(path, {"customer_id": customer_id(tenant_a), "items": items})
    patched = tenant_a.api().patch(f"{path}/{created.json()['id']}", {"version": 1, "items": items[:-1]})
    pdf = tenant_a.api().get(f"{path}/{created.json()['id']}/pdf")

    assert created.status_code == 201, created.content[:300]
    assert len(created.json()["items"]) == MAX_ITEMS
    assert patched.status_code == 200, patched.content[:300]
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF-")
