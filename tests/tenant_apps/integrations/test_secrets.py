"""Endpoint secrets: the Standard Webhooks form, signatures the `standardwebhooks` library
accepts, and encryption at rest with keys that can be rotated."""

import io
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from standardwebhooks.webhooks import Webhook

from tenant_apps.integrations import endpoint_secrets, services, signing
from tenant_apps.integrations.models import WebhookEndpoint


def test_a_secret_has_the_standard_form():
    secret = endpoint_secrets.new_secret()

    assert secret.startswith("whsec_")
    assert len(endpoint_secrets.secret_key_bytes(secret)) == 24
    assert secret != endpoint_secrets.new_secret()


def test_our_signature_is_the_librarys():
    secret = endpoint_secrets.new_secret()
    when = datetime(2026, 3, 2, 14, 5, tzinfo=UTC)
    body = '{"type":"invoice.paid","timestamp":"2026-03-02T14:05:00Z","data":{"invoice_id":1}}'

    ours = signing.signature(secret=secret, message_id="msg_1", timestamp=int(when.timestamp()), body=body)

    assert ours == Webhook(secret).sign(msg_id="msg_1", timestamp=when, data=body)


def test_key_rotation_reencrypts_every_secret(tenant_a, settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.WEBHOOK_SECRET_KEYS = [old_key]
    with tenant_a.schema():
        endpoint, secret = services.create_endpoint(url="https://127.0.0.1/x", event_types=["invoice.paid"])
    settings.WEBHOOK_SECRET_KEYS = [new_key, old_key]

    call_command("rotate_webhook_secret_keys", stdout=io.StringIO())
    settings.WEBHOOK_SECRET_KEYS = [new_key]

    with tenant_a.schema():
        stored = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint_secrets.decrypt(stored.secret_encrypted) == secret
    settings.WEBHOOK_SECRET_KEYS = [old_key]
    with pytest.raises(InvalidToken):
        endpoint_secrets.decrypt(stored.secret_encrypted)
