"""The providers' webhooks are routes of the API host only (api.tenancy.require_api_host):
on a business's own host they answer 404 and store nothing."""

import pytest

from shared_apps.webhooks.models import WebhookEvent

WEBHOOKS = ["/payments/webhook", "/sms/webhook", "/voice/webhook"]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_a_webhook_posted_to_a_business_host_is_not_found(tenant_a, path):
    response = tenant_a.api().with_token(None).post(path, {"type": "ping"})

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "api_host_only"
    assert not WebhookEvent.objects.exists()


UNSIGNED_ANSWERS = [("/payments/webhook", 400), ("/sms/webhook", 403), ("/voice/webhook", 401)]


@pytest.mark.parametrize(("path", "refused"), UNSIGNED_ANSWERS)
def test_an_unsigned_webhook_on_the_api_host_reaches_the_providers_check(api_host, path, refused):
    response = api_host.post(path, {"type": "ping"})

    assert response.status_code == refused
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(("path", "refused"), UNSIGNED_ANSWERS)
def test_the_api_host_is_decided_by_the_host_not_by_a_token_naming_a_business(tenant_a, path, refused):
    response = tenant_a.api(on_api_host=True).post(path, {"type": "ping"})

    assert response.status_code == refused
