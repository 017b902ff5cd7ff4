"""The Twilio client: always the real SDK, talking to Twilio with credentials and to the
loopback sandbox (devtools/twilio_sandbox.py) without them. Every call has a timeout (the SDK's
default is none)."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TIMEOUT_SECONDS = 10
SANDBOX_ACCOUNT_SID = "AC" + "0" * 32
WEBHOOK_PATH = "/api/v1/sms/webhook"


class SandboxHttpClient(TwilioHttpClient):
    """Sends the SDK's requests to the sandbox's scheme and host instead of api.twilio.com."""

    def __init__(self, *, base_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):
        parts = urlsplit(url)
        local = f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
        return super().request(method, local, *args, **kwargs)


def is_sandbox() -> bool:
    return not settings.TWILIO_ACCOUNT_SID


def twilio_client() -> Client:
    if is_sandbox():
        http_client = SandboxHttpClient(base_url=settings.TWILIO_SANDBOX_URL, timeout=TIMEOUT_SECONDS)
        return Client(SANDBOX_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
    return Client(
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS)
    )


def status_callback_url() -> str:
    """Where Twilio posts a sent message's statuses: our webhook at the public base URL."""
    base = settings.PUBLIC_BASE_URL or f"http://{settings.BASE_DOMAIN}:{settings.PORT}"
    return base.rstrip("/") + WEBHOOK_PATH
