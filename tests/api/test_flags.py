"""Feature flags through the platform API, and integrations switched off for one business:
409 `integration_disabled` at their entry points, nothing sent, changes audited."""

import pytest

from shared_apps.audit.models import AuditEvent
from shared_apps.events.services import emit
from shared_apps.flags import services as flags
from shared_apps.flags.catalogue import CARD_PAYMENTS, FLAGS, OUTBOUND_WEBHOOKS, SMS, VOICE
from shared_apps.outbox.models import OutboxMessage
from tenant_apps.integrations import services as integrations
from tenant_apps.integrations.models import WebhookDelivery
from tenant_apps.payments.models import StripeAccount
from tenant_apps.payments.pay_links import card_pay_link
from tenant_apps.sms import services as sms_services
from tenant_apps.sms.automatic import send_automatic_text
from tenant_apps.sms.models import AutomaticText, Message
from tenant_apps.voice import services as voice_services
from tenant_apps.voice.models import Call
from tests.api.test_platform import platform_api  # noqa: F401 - fixture
from tests.factories import CustomerFactory
from tests.isolation import assert_refused
from tests.tenant_apps.invoices.factories import sent_invoice

PHONE = "+12025550143"
# The address the webhooks API tests use; nothing is sent to it here.
WEBHOOK_URL = "https://127.0.0.1:9/hooks"


def switch_off(tenant, name: str) -> None:
    flags.set_tenant_flag(tenant_id=tenant.tenant.pk, name=name, enabled=False)


def test_platform_admin_lists_the_flags_declared_in_code(platform_api):  # noqa: F811 - the fixture
    listed = platform_api.get("/platform/flags")

    assert listed.status_code == 200
    assert {item["name"] for item in listed.json()} == set(FLAGS) >= {SMS, VOICE, CARD_PAYMENTS, OUTBOUND_WEBHOOKS}
    assert all(item["default"] is True and item["rollout_percent"] is None for item in listed.json())


def test_platform_admin_sets_a_rollout_and_an_override_and_both_are_audited(platform_api, tenant_a):  # noqa: F811 - the fixture
    rolled = platform_api.put(f"/platform/flags/{VOICE}", {"rollout_percent": 0})
    off_for_all = platform_api.get(f"/platform/tenants/{tenant_a.tenant.pk}/flags").json()
    overridden = platform_api.put(f"/platform/tenants/{tenant_a.tenant.pk}/flags/{VOICE}", {"enabled": True})
    dropped = platform_api.put(f"/platform/tenants/{tenant_a.tenant.pk}/flags/{VOICE}", {"enabled": None})

    assert rolled.json()["rollout_percent"] == 0
    assert next(item for item in off_for_all if item["name"] == VOICE)["enabled"] is False
    assert (overridden.json()["override"], overridden.json()["enabled"]) == (True, True)
    assert (dropped.json()["override"], dropped.json()["enabled"]) == (None, False)
    rollout = AuditEvent.objects.filter(action="flag.rollout_set").latest("id")
    assert (rollout.tenant_id, rollout.target) == (None, f"flag:{VOICE}")
    assert rollout.details == {"rollout_percent": {"before": None, "after": 0}}
    trail = tenant_a.api().get("/audit-events", action="flag.tenant_set").json()["items"]
    assert [item["details"]["override"] for item in trail] == [
        {"before": True, "after": None},
        {"before": None, "after": True},
    ]


def test_bad_flag_requests(platform_api, tenant_a):  # noqa: F811 - the fixture
    assert_refused(platform_api.put("/platform/flags/nothing", {"rollout_percent": 5}), 404)
    assert_refused(platform_api.put(f"/platform/flags/{SMS}", {"rollout_percent": 101}), 400)
    assert_refused(platform_api.put(f"/platform/flags/{SMS}", {}), 400)
    assert_refused(platform_api.put(f"/platform/tenants/{tenant_a.tenant.pk}/flags/nothing", {"enabled": False}), 404)
    assert_refused(platform_api.put(f"/platform/tenants/999999/flags/{SMS}", {"enabled": False}), 404)
    assert_refused(platform_api.get("/platform/tenants/999999/flags"), 404)


@pytest.mark.parametrize(
    "method, path, body",
    [
        ("GET", "/platform/flags", None),
        ("PUT", f"/platform/flags/{SMS}", {"rollout_percent": 0}),
        ("GET", "/platform/tenants/{tenant}/flags", None),
        ("PUT", "/platform/tenants/{tenant}/flags/" + SMS, {"enabled": False}),
    ],
)
def test_flag_routes_are_for_platform_admins_only(api_host, tenant_a, tenant_b, method, path, body):
    url = path.format(tenant=tenant_b.tenant.pk)

    assert_refused(api_host.request(method, url, body), 401)
    assert_refused(tenant_a.api().request(method, url, body), 403)
    assert_refused(tenant_a.api(on_api_host=True).request(method, url, body), 403)
    assert flags.is_enabled(SMS, tenant_id=tenant_b.tenant.pk)


def test_texts_switched_off_answer_409_and_queue_nothing(tenant_a, tenant_b):
    switch_off(tenant_a, SMS)

    refused = tenant_a.api().post("/sms/send", {"to": PHONE, "body": "Hello"})
    other = tenant_b.api().post("/sms/send", {"to": PHONE, "body": "Hello"})

    body = assert_refused(refused, 409)
    assert body["errors"] == [{"code": "integration_disabled", "flag": SMS}]
    assert other.status_code != 409 or other.json()["errors"][0]["code"] != "integration_disabled"
    with tenant_a.schema():
        assert not Message.objects.exists()


def test_an_automatic_text_is_skipped_while_texts_are_off(tenant_a):
    tenant_a.store_settings(sms_sender=PHONE)
    switch_off(tenant_a, SMS)
    with tenant_a.schema():
        decided = send_automatic_text(
            tenant=tenant_a.tenant,
            send_key="k-1",
            kind="reminder",
            customer=CustomerFactory(phone="+12025550150"),
            body="Hi",
        )

        assert decided.skip_reason == AutomaticText.SkipReason.SMS_OFF
        assert not Message.objects.exists()


def test_a_text_queued_before_the_switch_fails_unsent(tenant_a):
    with tenant_a.schema():
        queued = Message.objects.create(direction="outbound", from_number=PHONE, to_number=PHONE, status="queued")
        switch_off(tenant_a, SMS)

        sms_services.send_queued_sms(message_id=queued.pk, tenant_id=tenant_a.tenant.pk)

        queued.refresh_from_db()
        assert (queued.status, queued.provider_sid) == ("failed", None)
        assert "switched off" in queued.note


def test_a_call_queued_before_the_switch_fails_undialled(tenant_a):
    with tenant_a.schema():
        pending = Call.objects.create(direction="outbound", status="pending", customer_number=PHONE)
        switch_off(tenant_a, VOICE)

        voice_services.place_queued_call(call_id=pending.pk, tenant_id=tenant_a.tenant.pk)

        pending.refresh_from_db()
        assert (pending.status, pending.ended_reason, pending.vapi_call_id) == ("failed", "integration-disabled", None)


def test_calls_switched_off_answer_409(tenant_a):
    switch_off(tenant_a, VOICE)

    body = assert_refused(tenant_a.api().post("/voice/call", {"to": PHONE}), 409)

    assert body["errors"] == [{"code": "integration_disabled", "flag": VOICE}]
    with tenant_a.schema():
        assert not Call.objects.exists()


def test_card_payments_switched_off_answer_409(tenant_a):
    with tenant_a.schema():
        invoice = sent_invoice(tenant_a.tenant)
    switch_off(tenant_a, CARD_PAYMENTS)

    intent = assert_refused(tenant_a.api().post("/payments/create-intent", {"invoice_id": invoice.pk}), 409)
    connect = assert_refused(tenant_a.api().post("/payments/connect", {}), 409)

    assert intent["errors"] == connect["errors"] == [{"code": "integration_disabled", "flag": CARD_PAYMENTS}]


def test_documents_print_no_pay_link_while_card_payments_are_off(tenant_a):
    with tenant_a.schema():
        StripeAccount.objects.create(account_id="acct_flagged", charges_enabled=True)
        invoice = sent_invoice(tenant_a.tenant)
        offered = card_pay_link(invoice.pk)
        switch_off(tenant_a, CARD_PAYMENTS)

        assert offered is not None
        assert card_pay_link(invoice.pk) is None


def test_switching_an_integration_on_releases_its_held_webhooks(tenant_a):
    switch_off(tenant_a, SMS)
    OutboxMessage.objects.filter(actor_name="release_held_webhook_events").delete()

    flags.set_tenant_flag(tenant_id=tenant_a.tenant.pk, name=SMS, enabled=True)
    flags.set_tenant_flag(tenant_id=tenant_a.tenant.pk, name=OUTBOUND_WEBHOOKS, enabled=True)

    released = OutboxMessage.objects.filter(actor_name="release_held_webhook_events")
    assert [message.kwargs for message in released] == [{"tenant_id": tenant_a.tenant.pk}]


def test_outbound_webhooks_switched_off_queue_nothing_and_refuse_pings(tenant_a):
    with tenant_a.schema():
        endpoint, _ = integrations.create_endpoint(url=WEBHOOK_URL, event_types=["customer.created"])
        event = emit("customer.created", customer_id=1, name="Dana")
        switch_off(tenant_a, OUTBOUND_WEBHOOKS)

        queued = integrations.queue_event_deliveries(event=event)

    ping = assert_refused(tenant_a.api().post(f"/webhooks/endpoints/{endpoint.pk}/test"), 409)
    assert queued == 0
    assert ping["errors"] == [{"code": "integration_disabled", "flag": OUTBOUND_WEBHOOKS}]


def test_a_delivery_queued_before_the_switch_fails_unsent(tenant_a):
    with tenant_a.schema():
        endpoint, _ = integrations.create_endpoint(url=WEBHOOK_URL, event_types=["customer.created"])
        queued = integrations.queue_event_deliveries(event=emit("customer.created", customer_id=1, name="Dana"))
        delivery = WebhookDelivery.objects.get(endpoint=endpoint)
        switch_off(tenant_a, OUTBOUND_WEBHOOKS)

        outcome = integrations.attempt_delivery(delivery_id=delivery.pk, attempt=delivery.attempt_count)

        delivery.refresh_from_db()
        assert (queued, outcome, delivery.status) == (1, "switched_off", WebhookDelivery.Status.FAILED)


def test_endpoint_changes_are_audited_without_secrets(tenant_a):
    with tenant_a.schema():
        endpoint, _ = integrations.create_endpoint(url=WEBHOOK_URL, event_types=["customer.created"])
        integrations.update_endpoint(endpoint_id=endpoint.pk, changes={"description": "Books"}, version=1)
        integrations.rotate_endpoint_secret(endpoint_id=endpoint.pk)
        integrations.delete_endpoint(endpoint_id=endpoint.pk)

    trail = tenant_a.api().get("/audit-events", action="webhook_endpoint.").json()["items"]
    assert [item["action"] for item in trail] == [
        "webhook_endpoint.deleted",
        "webhook_endpoint.secret_rotated",
        "webhook_endpoint.updated",
        "webhook_endpoint.created",
    ]
    assert trail[2]["details"] == {"changed": {"description": {"before": "", "after": "Books"}}}
    assert "secret" not in str([item["details"] for item in trail])
