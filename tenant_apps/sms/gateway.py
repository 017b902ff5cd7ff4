"""The Twilio gateway: the only module that uses the SDK. Always the real SDK, talking to
Twilio with credentials and to the loopback sandbox (devtools/twilio_sandbox.py) without them.
Every call has a timeout (the SDK's default is none); answers are our TwilioMessage, errors
TwilioRefused (an error answer) or TwilioUnreachable (no answer: the outcome is unknown)."""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.api.v2010.account.message import MessageInstance
from twilio.twiml.messaging_response import MessagingResponse

from shared_apps.observability.metrics import REFUSED, UNAVAILABLE, provider_call

TIMEOUT_SECONDS = 10
SANDBOX_ACCOUNT_SID = "AC" + "0" * 32
WEBHOOK_PATH = "/api/v1/sms/webhook"
T = TypeVar("T")
# Our answer to every webhook: no reply text (replies are sent by jobs, not in TwiML).
EMPTY_TWIML = str(MessagingResponse())


class TwilioRefused(Exception):
    """Twilio answered with an error: its HTTP status and error code (21610: opted out)."""

    def __init__(self, message: str, *, status: int, code: int | None):
        super().__init__(message)
        self.status = status
        self.code = code


class TwilioUnreachable(Exception):
    """No usable answer from Twilio (timeout, connection lost): whether it acted is unknown."""


@dataclass(frozen=True)
class TwilioMessage:
    """Twilio's record of one text (the fields we read of its Message resource)."""

    sid: str
    status: str
    error_code: int | None
    body: str
    date_created: datetime | None


def _message(instance: MessageInstance) -> TwilioMessage:
    return TwilioMessage(
        sid=instance.sid or "",
        status=str(instance.status or ""),
        error_code=instance.error_code,
        body=instance.body or "",
        date_created=instance.date_created,
    )


def _failure(error: Exception) -> str:
    """How a failed call counts in the provider metrics: Twilio away or throttling, or a refusal."""
    if isinstance(error, TwilioRefused) and error.status < 500 and error.status != 429:
        return REFUSED
    return UNAVAILABLE


def _call(operation: str, call: Callable[[], T]) -> T:
    """Run one SDK call, timed as `operation` (a span, the latency and error metrics), and raise
    our exceptions instead of the SDK's and its transport's."""
    with provider_call(provider="twilio", operation=operation, failure=_failure):
        try:
            return call()
        except TwilioRestException as error:
            raise TwilioRefused(str(error), status=error.status, code=error.code) from error
        except (TwilioException, requests.RequestException) as error:
            raise TwilioUnreachable(f"{type(error).__name__}: {error}") from error


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


# Where Twilio keeps an inbound message's media (it redirects from there to a signed URL of its
# storage, to which `requests` sends no credentials).
MEDIA_URL = re.compile(r"^/2010-04-01/Accounts/(?P<account>AC\w+)/Messages/\w+/Media/\w+$")
TWILIO_MEDIA_ORIGIN = "https://api.twilio.com"


def download_media(*, url: str, max_bytes: int, timeout: float) -> bytes:
    """The bytes of an inbound MMS's media file, fetched with the account's credentials (media
    need Twilio's HTTP auth when the account enforces it). Only this account's media URLs at
    Twilio (or at the sandbox) are fetched, so the credentials never go to a host a sender
    chose. Refused (TwilioRefused) past `max_bytes` or on an error answer; TwilioUnreachable
    when no answer came within `timeout` seconds in all."""
    account = SANDBOX_ACCOUNT_SID if is_sandbox() else settings.TWILIO_ACCOUNT_SID
    origin = settings.TWILIO_SANDBOX_URL.rstrip("/") if is_sandbox() else TWILIO_MEDIA_ORIGIN
    parts = urlsplit(url)
    path = MEDIA_URL.match(parts.path)
    if f"{parts.scheme}://{parts.netloc}" != origin or path is None or path["account"] != account or parts.query:
        raise TwilioRefused("Not a media URL of this Twilio account.", status=400, code=None)
    deadline = time.monotonic() + timeout
    try:
        with requests.get(
            url, auth=(account, settings.TWILIO_AUTH_TOKEN), timeout=(TIMEOUT_SECONDS, timeout), stream=True
        ) as answer:
            if answer.status_code >= 400:
                raise TwilioRefused(
                    f"Twilio answered {answer.status_code} for media.", status=answer.status_code, code=None
                )
            content = bytearray()
            for chunk in answer.iter_content(chunk_size=64 * 1024):
                content.extend(chunk)
                if len(content) > max_bytes:
                    raise TwilioRefused("The media file is too large.", status=413, code=None)
                if time.monotonic() > deadline:
                    raise TwilioUnreachable(f"The media download took longer than {timeout:.0f}s.")
            return bytes(content)
    except requests.RequestException as error:
        raise TwilioUnreachable(f"{type(error).__name__}: {error}") from error


def status_callback_url() -> str:
    """Where Twilio posts a sent message's statuses: our webhook at the public base URL."""
    base = settings.PUBLIC_BASE_URL or f"http://{settings.BASE_DOMAIN}:{settings.PORT}"
    return base.rstrip("/") + WEBHOOK_PATH


def send_message(*, to: str, from_: str, body: str) -> TwilioMessage:
    """`POST Messages`: hand one text to Twilio, its statuses posted to our webhook. Never
    retried here: Twilio has no idempotency key, so a repeated create sends the text twice."""
    client = twilio_client()
    return _message(
        _call(
            "messages.create",
            lambda: client.messages.create(to=to, from_=from_, body=body, status_callback=status_callback_url()),
        )
    )


def fetch_message(*, sid: str) -> TwilioMessage | None:
    """Twilio's record of the text with this MessageSid, or None when it has none (404)."""
    client = twilio_client()
    try:
        return _message(_call("messages.fetch", lambda: client.messages(sid).fetch()))
    except TwilioRefused as refused:
        if refused.status == 404:
            return None
        raise


def list_messages(*, to: str, from_: str, limit: int) -> list[TwilioMessage]:
    """The newest `limit` texts Twilio has from `from_` to `to`."""
    client = twilio_client()
    return [
        _message(sent) for sent in _call("messages.list", lambda: client.messages.list(to=to, from_=from_, limit=limit))
    ]
