import json

import httpx
import pytest
import respx
from django.conf import settings

from shared_apps.webhooks import vapi
from shared_apps.webhooks.models import ProviderRoute
from tenant_apps.voice import services
from tenant_apps.voice.models import Call
from tests.api.generic import CreateTests, GetTests, ListTests
from tests.factories import CustomerFactory
from tests.isolation import Route, assert_refused
from tests.tenant_apps.voice.conftest import set_up_voice
from tests.tenant_apps.voice.factories import CallFactory

PHONE = "pn-calls-0001"
ASSISTANT = "asst-calls-0001"
CALL_URL = f"{settings.VAPI_SANDBOX_URL}/call"


class TestVoiceCallsAPI(ListTests, GetTests):
    # Its item schema has more than columns (nested rows, computed values): Ninja's path.
    list_from_values = False
    path = "/voice/calls"
    routes = [Route("GET", "/voice/calls")]
    object_routes = [Route("GET", "/voice/calls/{id}")]

    def make_object(self, owner):
        with owner.schema():
            return CallFactory().pk


class TestPlaceCallAPI(CreateTests):
    path = "/voice/call"
    routes = [Route("POST", "/voice/call", {"to": "+12025550111"})]
    object_routes = [Route("GET", "/voice/calls/{id}")]

    def make_object(self, owner):
        with owner.schema():
            return CallFactory().pk

    create_status = 202
    create_expected = {"status": "pending"}
    create_fields = {"id"}
    invalid_create = [({"to": "12"}, "phone"), ({"purpose": "x" * 501}, "purpose")]

    def create_data(self, owner):
        set_up_voice(owner, phone_number_id=f"{PHONE}-{owner.slug}", assistant_id=f"{ASSISTANT}-{owner.slug}")
        return {"to": "+12025550111", "purpose": "Confirm Tuesday's visit"}


@pytest.fixture
def configured(tenant_a):
    set_up_voice(tenant_a, phone_number_id=PHONE, assistant_id=ASSISTANT)
    return tenant_a


def test_calls_show_every_field_of_the_contract(tenant_a):
    with tenant_a.schema():
        call = CallFactory(
            transcript="Hello", recording_url="https://storage.vapi.ai/x.wav", cost=12, duration_seconds=61
        )

    item = tenant_a.api(as_staff=True).get(f"/voice/calls/{call.pk}").json()

    assert {
        "status",
        "direction",
        "customer_id",
        "started_at",
        "ended_at",
        "duration_seconds",
        "transcript",
        "summary",
        "recording_url",
        "cost",
        "ended_reason",
        "note",
    } <= set(item)
    assert (item["cost"], item["cost_currency"], item["duration_seconds"]) == (12, "usd", 61)


def test_calls_filter_by_customer_and_direction(tenant_a):
    with tenant_a.schema():
        customer = CustomerFactory()
        mine = CallFactory(customer=customer)
        CallFactory()

    by_customer = tenant_a.api().get("/voice/calls", customer_id=customer.pk).json()["items"]
    inbound_only = tenant_a.api().get("/voice/calls", direction="inbound").json()

    assert [item["id"] for item in by_customer] == [mine.pk]
    assert inbound_only["count"] == 0


def test_an_opted_out_or_invalid_number_is_refused_before_anything_is_dialled(configured):
    with configured.schema():
        CustomerFactory(phone="+12025550199", sms_opt_out=True)

    opted_out = configured.api().post("/voice/call", {"to": "+12025550199"})
    invalid = configured.api().post("/voice/call", {"to": "555"})
    both = configured.api().post("/voice/call", {"to": "+12025550111", "customer_id": 1})

    assert assert_refused(opted_out, 409)["errors"][0]["code"] == "recipient_opted_out"
    assert assert_refused(invalid, 400)["errors"][0]["field"] == "phone"
    assert assert_refused(both, 400)["errors"][0]["field"] == "to"
    with configured.schema():
        assert not Call.objects.exists()


def test_without_a_vapi_number_calls_are_refused(tenant_a):
    refused = tenant_a.api().post("/voice/call", {"to": "+12025550111"})

    assert assert_refused(refused, 409)["errors"][0]["code"] == "voice_not_configured"


def test_a_repeated_request_with_the_same_idempotency_key_is_the_same_call(configured):
    headers = {"Idempotency-Key": "call-once"}
    first = configured.api().post("/voice/call", {"to": "+12025550111"}, headers=headers)
    second = configured.api().post("/voice/call", {"to": "+12025550111"}, headers=headers)

    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    with configured.schema():
        assert Call.objects.count() == 1


def _queue(tenant) -> Call:
    response = tenant.api().post("/voice/call", {"to": "+12025550111", "purpose": "Confirm Tuesday"})
    assert response.status_code == 202, response.content
    with tenant.schema():
        return Call.objects.get(pk=response.json()["id"])


@respx.mock(assert_all_called=False)
def test_a_transport_that_fails_once_places_one_call_and_retries_none(configured, respx_mock):
    route = respx_mock.post(CALL_URL).mock(
        side_effect=[httpx.ConnectTimeout("timed out"), httpx.Response(201, json={"id": "v-1", "status": "queued"})]
    )
    call = _queue(configured)

    with configured.schema():
        first = services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)
        again = services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)  # the job re-delivered

    assert route.call_count == 1
    # Vapi may have placed it: the call is `unknown` (tenant_apps/voice/reconcile.py asks Vapi), not failed.
    assert (first.status, again.status) == ("unknown", "unknown")
    assert (first.ended_reason, first.note) == (
        "",
        "Vapi did not answer (ConnectTimeout: timed out); checking with Vapi.",
    )


@respx.mock(assert_all_called=False)
def test_vapi_refusing_a_call_fails_it_without_a_retry(configured, respx_mock):
    route = respx_mock.post(CALL_URL).mock(return_value=httpx.Response(503, json={"message": "busy"}))
    call = _queue(configured)

    with configured.schema():
        failed = services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)

    assert route.call_count == 1
    assert (failed.status, failed.ended_reason) == ("failed", "vapi-refused-503")


@respx.mock(assert_all_called=False)
def test_a_placed_call_carries_our_ids_and_routes_its_messages_back(configured, respx_mock):
    route = respx_mock.post(CALL_URL).mock(return_value=httpx.Response(201, json={"id": "v-42", "status": "queued"}))
    call = _queue(configured)

    with configured.schema():
        placed = services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)

    sent = json.loads(route.calls.last.request.content)
    assert route.calls.last.request.headers["Authorization"].startswith("Bearer ")
    assert sent["assistantId"] == ASSISTANT
    assert sent["phoneNumberId"] == PHONE
    assert sent["customer"]["number"] == "+12025550111"
    assert sent["assistantOverrides"]["metadata"] == {"tenant_id": configured.tenant.pk, "call_row_id": call.pk}
    assert (placed.vapi_call_id, placed.status) == ("v-42", "queued")
    assert ProviderRoute.objects.get(provider=vapi.PROVIDER, external_id="v-42").tenant_id == configured.tenant.pk


@respx.mock(assert_all_called=False)
def test_a_business_places_calls_only_with_its_own_assistant(configured, tenant_b, respx_mock):
    set_up_voice(tenant_b, phone_number_id="pn-calls-b", assistant_id="asst-calls-b")
    dial = respx_mock.post(CALL_URL).mock(return_value=httpx.Response(201, json={"id": "v-own", "status": "queued"}))

    borrowed = configured.api().post("/voice/call", {"to": "+12025550111", "assistant_id": "asst-calls-b"})
    unknown = configured.api().post("/voice/call", {"to": "+12025550111", "assistant_id": "asst-nobody"})
    own = configured.api().post("/voice/call", {"to": "+12025550111", "assistant_id": ASSISTANT})
    with configured.schema():
        services.place_queued_call(call_id=own.json()["id"], tenant_id=configured.tenant.pk)

    for refused in (borrowed, unknown):
        assert assert_refused(refused, 400)["errors"][0]["field"] == "assistant_id"
    assert borrowed.json()["errors"] == unknown.json()["errors"]  # nothing tells whose assistant it is
    assert own.status_code == 202
    assert [json.loads(call.request.content)["assistantId"] for call in dial.calls] == [ASSISTANT]
    with configured.schema():
        assert list(Call.objects.values_list("assistant_id", flat=True)) == [ASSISTANT]
