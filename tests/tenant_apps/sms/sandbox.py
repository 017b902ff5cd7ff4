"""The project's Twilio sandbox served on a free loopback port for a test, and a webhook
receiver that checks what the sandbox posts with the Twilio SDK's RequestValidator."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl
from wsgiref.simple_server import WSGIRequestHandler, make_server

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from devtools.twilio_sandbox import TwilioSandbox, serve
from tests.servers import serving_in_thread


@contextmanager
def running_sandbox(
    *, callbacks: bool, answer_delay: float = 0.0, **options: Any
) -> Iterator[tuple[TwilioSandbox, str]]:
    sandbox = TwilioSandbox(callbacks=callbacks, answer_delay=answer_delay, **options)
    with serving_in_thread(serve(0, sandbox=sandbox)) as url:
        yield sandbox, url


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class WebhookReceiver:
    """A stand-in for our webhook: keeps each POST's form parameters with whether its
    X-Twilio-Signature verified against `url` with `token`, and answers empty TwiML."""

    def __init__(self, token: str):
        self.token = token
        self.url = ""
        self.received: list[tuple[dict[str, str], bool]] = []
        self.arrived = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        params = dict(parse_qsl(environ["wsgi.input"].read(length).decode(), keep_blank_values=True))
        valid = RequestValidator(self.token).validate(self.url, params, environ.get("HTTP_X_TWILIO_SIGNATURE", ""))
        with self.arrived:
            self.received.append((params, valid))
            self.arrived.notify_all()
        start_response("200 OK", [("Content-Type", "text/xml")])
        return [str(MessagingResponse()).encode()]

    def wait_for(self, count: int, timeout: float = 10) -> list[tuple[dict[str, str], bool]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)


@contextmanager
def receiving_webhooks(token: str) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver(token)
    with serving_in_thread(make_server("127.0.0.1", 0, receiver, handler_class=_QuietHandler)) as base:
        receiver.url = f"{base}/hook"
        yield receiver
