import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from shared_apps.errors import ValidationFailed
from tenant_apps.customers import history
from tenant_apps.customers.services import normalize_phone


@pytest.mark.parametrize(
    ("phone", "region", "expected"),
    [
        ("(202) 555-0143", "US", "+12025550143"),
        ("+1 202 555 0143", "GB", "+12025550143"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("030 901820", "DE", "+4930901820"),
        ("  ", "US", ""),
    ],
)
def test_normalize_phone(phone, region, expected):
    assert normalize_phone(phone=phone, region=region) == expected


@pytest.mark.parametrize("phone", ["12", "not a phone", "+1 000 000 0000", "020 7946 0018"])
def test_invalid_phone_is_refused(phone):
    with pytest.raises(ValidationFailed) as refused:
        normalize_phone(phone=phone, region="US")

    assert refused.value.details[0]["field"] == "phone"


def test_appointments_register_a_history_source_costing_one_query(tenant_a):
    assert "appointment" in history._sources

    with tenant_a.schema(), CaptureQueriesContext(connection) as captured:
        history._sources["appointment"](1, history.HistoryWindow(kind="appointment", limit=50, after=None))

    assert len([q for q in captured if not q["sql"].startswith("SET search_path")]) == 1
