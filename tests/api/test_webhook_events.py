from shared_apps.webhooks import services
from tests.api.test_platform import platform_api  # noqa: F401 - fixture
from tests.isolation import assert_refused


def record(dedupe_key: str, owner_id: int | None = None):
    if owner_id is not None:
        services.claim_provider_route(tenant_id=owner_id, provider="twilio", kind="sms_sender", external_id="+15550001")
    return services.record_webhook_event(
        provider="twilio",
        dedupe_key=dedupe_key,
        route_candidates=[("sms_sender", "+15550001")],
        body="Body=caf\u00e9&To=%2B15550001".encode(),
        content_type="application/x-www-form-urlencoded",
    ).event


def test_platform_admins_list_unrouted_events_with_their_body(platform_api, tenant_a):  # noqa: F811
    unrouted = record("SM-unrouted")
    record("SM-routed", owner_id=tenant_a.tenant.pk)

    response = platform_api.get("/platform/webhook-events", status="unrouted")

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == [unrouted.pk]
    assert items[0]["provider"] == "twilio"
    assert items[0]["dedupe_key"] == "SM-unrouted"
    assert items[0]["tenant_id"] is None
    assert items[0]["body"] == "Body=caf\u00e9&To=%2B15550001"


def test_an_unknown_status_filter_is_a_400(platform_api):  # noqa: F811
    assert_refused(platform_api.get("/platform/webhook-events", status="nonsense"), 400)


def test_webhook_events_are_for_platform_admins_only(api_host, tenant_a):
    assert_refused(api_host.get("/platform/webhook-events"), 401)
    assert_refused(tenant_a.api(on_api_host=True).get("/platform/webhook-events"), 403)
    assert_refused(tenant_a.api().get("/platform/webhook-events"), 403)
