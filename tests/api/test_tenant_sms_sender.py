from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator

from shared_apps.accounts.models import User
from shared_apps.tenants import services as tenant_services
from shared_apps.webhooks.models import ProviderRoute, WebhookEvent
from shared_apps.webhooks.twilio import PROVIDER, SENDER_KIND
from tests.concurrency import run_at_once
from tests.conftest import TestTenant as LiveTenant
from tests.conftest import provision_test_tenant
from tests.isolation import assert_refused


def sender_routes(test_tenant) -> list[str]:
    return list(
        ProviderRoute.objects.filter(tenant_id=test_tenant.tenant.pk, provider=PROVIDER, kind=SENDER_KIND).values_list(
            "external_id", flat=True
        )
    )


def test_setting_the_sender_stores_e164_and_claims_the_route(tenant_a):
    response = tenant_a.api().patch("/tenants/me", {"sms_sender": "+1 202-555-0123"})

    assert response.status_code == 200
    assert response.json()["sms_sender"] == "+12025550123"
    assert sender_routes(tenant_a) == ["+12025550123"]


def test_a_number_another_tenant_holds_is_409_and_changes_nothing(tenant_a, tenant_b):
    tenant_a.api().patch("/tenants/me", {"sms_sender": "+12025550123"})
    tenant_b.api().patch("/tenants/me", {"sms_sender": "+12025550199"})

    response = tenant_b.api().patch("/tenants/me", {"sms_sender": "+12025550123", "name": "Renamed"})

    body = assert_refused(response, 409)
    assert body["errors"][0]["code"] == "provider_id_taken"
    after = tenant_b.api().get("/tenants/me").json()
    assert (after["sms_sender"], after["name"]) == ("+12025550199", "Bravo Services")
    assert sender_routes(tenant_b) == ["+12025550199"]


def test_changing_the_number_releases_the_old_one(tenant_a, tenant_b):
    tenant_a.api().patch("/tenants/me", {"sms_sender": "+12025550123"})
    tenant_a.api().patch("/tenants/me", {"sms_sender": "+12025550124"})

    taken = tenant_b.api().patch("/tenants/me", {"sms_sender": "+12025550123"})

    assert taken.status_code == 200
    assert sender_routes(tenant_a) == ["+12025550124"]
    assert sender_routes(tenant_b) == ["+12025550123"]


def test_a_blank_sender_releases_the_number(tenant_a):
    tenant_a.api().patch("/tenants/me", {"sms_sender": "+12025550123"})

    response = tenant_a.api().patch("/tenants/me", {"sms_sender": ""})

    assert response.json()["sms_sender"] == ""
    assert sender_routes(tenant_a) == []


@pytest.mark.parametrize("value", ["2025550123", "+1555", "not a number", "+1 202 555 0123 ext"])
def test_a_sender_that_is_not_e164_is_400(tenant_a, value):
    body = assert_refused(tenant_a.api().patch("/tenants/me", {"sms_sender": value}), 400)

    assert body["errors"][0]["field"] == "sms_sender"
    assert sender_routes(tenant_a) == []


def test_staff_cannot_set_the_sender(tenant_a):
    assert_refused(tenant_a.api(as_staff=True).patch("/tenants/me", {"sms_sender": "+12025550123"}), 403)
    assert sender_routes(tenant_a) == []


def test_a_text_to_the_new_sender_is_routed_to_its_tenant(tenant_a):
    tenant_a.api().patch("/tenants/me", {"sms_sender": "+12025550123"})
    params = {"MessageSid": "SM-after-patch", "From": "+12025550999", "To": "+12025550123", "Body": "hi"}
    url = f"http://{settings.BASE_DOMAIN}/api/v1/sms/webhook"
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)

    Client().post(
        "/api/v1/sms/webhook",
        data=urlencode(params),
        content_type="application/x-www-form-urlencoded",
        HTTP_HOST=settings.BASE_DOMAIN,
        HTTP_X_TWILIO_SIGNATURE=signature,
    )

    assert WebhookEvent.objects.get(provider=PROVIDER, dedupe_key="SM-after-patch").tenant_id == tenant_a.tenant.pk


@pytest.fixture
def rival_tenant(committed_tenant, django_db_blocker) -> Iterator[LiveTenant]:
    """A second committed tenant, deleted afterwards."""
    with django_db_blocker.unblock():
        rival = provision_test_tenant(f"{committed_tenant.slug}-rival")
        yield rival
        tenant_services.delete_tenant(tenant_id=rival.tenant.pk)
        User.objects.filter(email__endswith=f"@{rival.slug}.test").delete()


@pytest.mark.concurrency
def test_two_tenants_racing_for_one_number_one_wins(committed_tenant, rival_tenant):
    def claim(test_tenant: LiveTenant) -> int:
        return test_tenant.api().patch("/tenants/me", {"sms_sender": "+12025550177"}).status_code

    statuses = run_at_once([lambda: claim(committed_tenant), lambda: claim(rival_tenant)])

    owners = list(ProviderRoute.objects.filter(external_id="+12025550177").values_list("tenant_id", flat=True))
    senders = sorted(racer.api().get("/tenants/me").json()["sms_sender"] for racer in (committed_tenant, rival_tenant))
    assert sorted(statuses) == [200, 409]
    assert len(owners) == 1
    assert senders == ["", "+12025550177"]


def test_the_example_a_refused_sender_suggests_is_accepted(tenant_a):
    refused = assert_refused(tenant_a.api().patch("/tenants/me", {"sms_sender": "+1555"}), 400)
    example = refused["errors"][0]["message"].rsplit(" ", 1)[-1].rstrip(".")

    assert tenant_a.api().patch("/tenants/me", {"sms_sender": example}).status_code == 200
