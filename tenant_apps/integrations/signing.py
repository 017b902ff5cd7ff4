"""Standard Webhooks signatures: `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` with the
secret's bytes; several signatures (a rotation's overlap) are separated by spaces. Receivers
verify with the `standardwebhooks` library (docs/webhooks.md); the tests do too."""

import base64
import hashlib
import hmac

from tenant_apps.integrations.endpoint_secrets import secret_key_bytes


def signature(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    digest = hmac.new(secret_key_bytes(secret), f"{message_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secrets: list[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three headers of a delivery, signed with each of `secrets`."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(
            signature(secret=secret, message_id=message_id, timestamp=timestamp, body=body) for secret in secrets
        ),
    }
