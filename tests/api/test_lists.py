"""Lists answered from column values (api/lists.py) carry the bytes Ninja's validated path and
JSON renderer would: escapes, `null`, date-times, money and the page envelope alike."""

import json
from datetime import UTC, date, datetime

import pytest
from django.core.serializers.json import DjangoJSONEncoder

from api import lists
from tenant_apps.customers.models import Customer
from tenant_apps.payments.services import record_manual_payment
from tests.factories import CustomerFactory
from tests.tenant_apps.invoices.factories import sent_invoice

ROW_PLAN = lists.row_plan

AWKWARD_TEXT = [
    "",
    "plain",
    'quote " backslash \\ slash /',
    "José Müller",
    "Łódź, 北京, عربي",
    "emoji 🔧🚿 and U+2028 \u2028",
    "controls \x01 \x1f \t \n \r \b \f and DEL \x7f",
]


@pytest.mark.parametrize("text", AWKWARD_TEXT)
def test_encode_writes_what_json_dumps_writes(text):
    data = {"items": [{"text": text, "none": None, "yes": True, "no": False, "big": 2**63 - 1, "n": -7}], "count": 1}

    assert lists.encode(data) == json.dumps(data).encode()


def test_encode_nests_and_keeps_empty_containers_as_json_dumps_does():
    data = {"items": [], "count": 0, "nested": {"a": [1, "two", None, {"b": []}], "c": {}}}

    assert lists.encode(data) == json.dumps(data).encode()


@pytest.mark.parametrize(
    "value",
    [
        datetime(2027, 1, 4, 14, 0, tzinfo=UTC),
        datetime(2027, 1, 4, 14, 0, 0, 123456, tzinfo=UTC),
        datetime(2027, 1, 4, 14, 0, 0, 500, tzinfo=UTC),
        date(2027, 1, 4),
    ],
)
def test_a_planned_date_or_time_is_written_as_ninjas_encoder_writes_it(value):
    convert = lists._converter(type(value) | None)

    assert convert is not None
    assert (convert(value), convert(None)) == (DjangoJSONEncoder().default(value), None)


def _both_renderings(api, path, monkeypatch, **query):
    plans = []
    monkeypatch.setattr(lists, "row_plan", lambda *key: plans.append(ROW_PLAN(*key)) or plans[-1])
    answered = api.get(path, **query)
    monkeypatch.setattr(lists, "row_plan", lambda *key: None)
    reference = api.get(path, **query)
    return answered, reference, plans


def test_customers_with_awkward_text_and_nulls_answer_ninjas_bytes(tenant_a, monkeypatch):
    with tenant_a.schema():
        for text in AWKWARD_TEXT[1:]:
            CustomerFactory(name=f"Ω {text}", notes=text, address=text)
        for microsecond in (0, 500, 120000, 123456, 999999):
            archived = CustomerFactory(name=f"Ω archived {microsecond}")
            instant = datetime(2026, 2, 3, 4, 5, 6, microsecond, tzinfo=UTC)
            Customer.objects.filter(pk=archived.pk).update(archived_at=instant, created_at=instant)

    answered, reference, plans = _both_renderings(
        tenant_a.api(), "/customers", monkeypatch, search="Ω", include_archived="true", limit=200
    )

    assert answered.status_code == 200
    assert answered.content == reference.content
    assert len(answered.json()["items"]) == len(AWKWARD_TEXT) - 1 + 5
    assert plans and all(plan is not None for plan in plans)


def test_money_rows_answer_ninjas_bytes(tenant_a, monkeypatch):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
        record_manual_payment(invoice_id=invoice.pk, amount=1, method="cash", reference="Chèque n° 7")
        record_manual_payment(invoice_id=invoice.pk, amount=2, method="check")

    for path in ("/payments", f"/invoices/{invoice.pk}/payments"):
        answered, reference, plans = _both_renderings(tenant_a.api(), path, monkeypatch, limit=200)

        assert answered.status_code == 200, answered.content
        assert answered.content == reference.content
        assert [row["amount"] for row in answered.json()["items"]][-2:] in ([2, 1], [1, 2])
        assert plans and all(plan is not None for plan in plans)


def test_an_empty_page_and_an_offset_past_the_end_answer_ninjas_bytes(tenant_b, monkeypatch):
    answered, reference, _ = _both_renderings(tenant_b.api(), "/closed-days", monkeypatch, offset=1000)

    assert answered.content == reference.content
    assert answered.json()["items"] == []
