"""Settling calls whose dial had no answer: Vapi is asked (its list of calls), never dialled
again; against the sandbox delaying its answer past our timeout, and respx at the edge."""

from datetime import datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from django.conf import settings
from django.utils import timezone

from shared_apps.webhooks import vapi
from shared_apps.webhooks.models import ProviderRoute
from tenant_apps.voice import gateway, reconcile, services
from tenant_apps.voice.models import Call
from tests.tenant_apps.voice.conftest import set_up_voice
from tests.tenant_apps.voice.factories import CallFactory
from tests.tenant_apps.voice.sandbox import running_vapi_sandbox

PHONE = "pn-reconcile-0001"
CALL_URL = f"{settings.VAPI_SANDBOX_URL}/call"


@pytest.fixture
def configured(tenant_a, tenant_b):
    set_up_voice(tenant_a, phone_number_id=PHONE, assistant_id="asst-reconcile-0001")
    set_up_voice(tenant_b, phone_number_id=f"{PHONE}-b", assistant_id="asst-reconcile-0002")
    return tenant_a


def queue(tenant) -> Call:
    response = tenant.api().post("/voice/call", {"to": "+12025550111", "purpose": "Confirm Tuesday"})
    assert response.status_code == 202, response.content
    with tenant.schema():
        return Call.objects.get(pk=response.json()["id"])


def later(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


def test_a_dial_that_timed_out_after_vapi_placed_it_is_found_and_never_redialled(configured, settings, monkeypatch):
    settings.VAPI_API_KEY = ""
    monkeypatch.setattr(gateway, "TIMEOUT_SECONDS", 0.3)
    call = queue(configured)
    with running_vapi_sandbox() as (sandbox, url):
        settings.VAPI_SANDBOX_URL = url
        sandbox.answer_delay = 1.0  # Vapi places the call, then answers after our timeout
        sandbox.step_delay = 60  # and it has not started ringing when we ask
        with configured.schema():
            dialled = services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)
            assert (dialled.status, dialled.vapi_call_id) == ("unknown", None)
            [placed] = sandbox.calls.values()
            shown = configured.api().get(f"/voice/calls/{call.pk}").json()
            assert (shown["status"], shown["note"]) == ("unknown", dialled.note)

            too_soon = reconcile.reconcile_all_tenants(now=later(1))
            looked_up = reconcile.reconcile_all_tenants(now=later(3))
            again = reconcile.reconcile_all_tenants(now=later(60))
            settled = Call.objects.get(pk=call.pk)

    assert (too_soon, looked_up, again) == (0, 1, 0)
    assert len(sandbox.calls) == 1  # asked, never dialled again
    assert (settled.vapi_call_id, settled.status) == (placed["id"], "queued")
    assert settled.note == reconcile.FOUND_NOTE
    route = ProviderRoute.objects.get(provider=vapi.PROVIDER, external_id=placed["id"])
    assert (route.kind, route.tenant_id) == (vapi.CALL_KIND, configured.tenant.pk)


def vapi_call(call_id: str, *, metadata: dict, status: str = "ended", **fields) -> dict:
    return {
        "id": call_id,
        "status": status,
        "type": "outboundPhoneCall",
        "phoneNumberId": PHONE,
        "assistantOverrides": {"metadata": metadata},
        **fields,
    }


@respx.mock(assert_all_called=False)
def test_vapi_listing_only_other_calls_leaves_it_unknown_then_marks_it_failed(configured, tenant_b, respx_mock):
    dial = respx_mock.post(CALL_URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    call = queue(configured)
    with configured.schema():
        services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)
    # The same row id in another business, and another call of ours: neither is this call.
    others = [
        vapi_call("v-other-tenant", metadata={"tenant_id": tenant_b.tenant.pk, "call_row_id": call.pk}),
        vapi_call("v-other-row", metadata={"tenant_id": configured.tenant.pk, "call_row_id": call.pk + 1}),
    ]
    listing = respx_mock.get(CALL_URL).mock(return_value=httpx.Response(200, json=others))

    with configured.schema():
        first = reconcile.reconcile_all_tenants(now=later(5))
        waiting = Call.objects.get(pk=call.pk)
        last = reconcile.reconcile_all_tenants(now=later(31))
        failed = Call.objects.get(pk=call.pk)

    assert (first, last) == (1, 1)
    assert (waiting.status, waiting.vapi_call_id) == ("unknown", None)
    assert (failed.status, failed.ended_reason, failed.note) == (
        "failed",
        reconcile.NOT_PLACED_REASON,
        reconcile.NOT_PLACED_NOTE,
    )
    assert dial.call_count == 1
    query = parse_qs(listing.calls.last.request.url.query.decode())
    assert query["phoneNumberId"] == [PHONE]
    gt, lt = (datetime.fromisoformat(query[name][0].replace("Z", "+00:00")) for name in ("createdAtGt", "createdAtLt"))
    assert gt < call.created_at < lt
    assert not ProviderRoute.objects.filter(external_id__in=["v-other-tenant", "v-other-row"]).exists()


@respx.mock(assert_all_called=False)
def test_vapi_unreachable_leaves_the_call_unknown_for_the_next_pass(configured, respx_mock):
    respx_mock.post(CALL_URL).mock(side_effect=httpx.ReadTimeout("timed out"))
    call = queue(configured)
    with configured.schema():
        services.place_queued_call(call_id=call.pk, tenant_id=configured.tenant.pk)
    respx_mock.get(CALL_URL).mock(side_effect=[httpx.ConnectTimeout("down"), httpx.Response(500, json={})])

    with configured.schema():
        looked_up = [reconcile.reconcile_all_tenants(now=later(60)) for _ in range(2)]
        call.refresh_from_db()

    assert looked_up == [0, 0]
    assert (call.status, call.ended_reason) == ("unknown", "")


@respx.mock(assert_all_called=False)
def test_a_call_left_dialing_by_a_dead_job_is_found_by_its_name_with_vapis_outcome(configured, respx_mock):
    with configured.schema():
        call = CallFactory(status=Call.Status.DIALING, vapi_call_id=None, ended_reason="", phone_number_id=PHONE)
    name = f"{configured.tenant.schema_name}-call-{call.pk}"
    respx_mock.get(CALL_URL).mock(
        return_value=httpx.Response(
            200, json=[{"id": "v-dead-job", "status": "ended", "endedReason": "customer-busy", "name": name}]
        )
    )

    with configured.schema():
        reconcile.reconcile_all_tenants(now=later(5))
        call.refresh_from_db()

    assert (call.vapi_call_id, call.status, call.ended_reason) == ("v-dead-job", "ended", "customer-busy")
    assert ProviderRoute.objects.get(external_id="v-dead-job").tenant_id == configured.tenant.pk


def test_the_sandbox_lists_calls_like_vapi(settings):
    settings.VAPI_API_KEY = ""
    with running_vapi_sandbox() as (_sandbox, url):
        settings.VAPI_SANDBOX_URL = url
        for number_id in ("pn-1", "pn-2"):
            gateway.create_call(
                assistant_id="a",
                phone_number_id=number_id,
                number="+12025550111",
                customer_name="",
                name=number_id,
                metadata={},
                variable_values={},
                server={},
                server_messages=[],
            )
        now = timezone.now()
        window = {"created_at_gt": now - timedelta(minutes=1), "created_at_lt": now + timedelta(minutes=1)}
        mine = gateway.list_calls(phone_number_id="pn-1", **window)
        before = gateway.list_calls(
            phone_number_id="pn-1", created_at_gt=now - timedelta(hours=2), created_at_lt=now - timedelta(hours=1)
        )
        with pytest.raises(gateway.VapiError) as too_many:
            gateway.list_calls(phone_number_id="pn-1", limit=1001, **window)

    assert [found["name"] for found in mine] == ["pn-1"]
    assert before == []
    assert too_many.value.status_code == 400
