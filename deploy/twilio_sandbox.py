"""A loopback stand-in for Twilio's Messages API, so SMS work end to end without credentials.

It speaks the wire format the real `twilio` SDK uses (form-encoded POST, Basic auth, JSON
answers, Twilio's error JSON), keeps what was sent in memory, and posts status callbacks
(sent, then delivered) to the message's StatusCallback, signed with the Auth Token the client
authenticated with, exactly as Twilio signs them. Twilio's test numbers fail as Twilio's do:
+15005550001 invalid (21211), +15005550009 cannot receive SMS (21614), +15005550004 has
replied STOP (21610). A message is fetched by its sid and listed by `To`/`From`, as the
reconciliation job does. `GET /sandbox/messages` lists what was sent.

Run: `python -m deploy.twilio_sandbox` (make run starts it when TWILIO_ACCOUNT_SID is unset); it
listens on the port of TWILIO_SANDBOX_URL (default http://127.0.0.1:8010).
"""

import base64
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from wsgiref.simple_server import WSGIServer

import requests
from twilio.request_validator import RequestValidator

from deploy.sandbox_server import serve_sandbox

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/.]+))?\.json$")
FAILING_NUMBERS = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550009": (21614, "'To' number is not a valid mobile number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient."),
}
CALLBACK_STATUSES = ("sent", "delivered")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class TwilioSandbox:
    """The WSGI app; `messages` holds every accepted message by sid."""

    def __init__(self, *, callback_delay: float = 0.05, callbacks: bool = True, answer_delay: float = 0.0):
        self.messages: dict[str, dict[str, Any]] = {}
        self.callback_delay = callback_delay
        self.callbacks = callbacks
        # Seconds between keeping a new message and answering: longer than the client's
        # timeout, a send's outcome is unknown to the client although the message exists.
        self.answer_delay = answer_delay
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == "/sandbox/messages" and method == "GET":
            with self._lock:
                return _json(start_response, 200, {"messages": list(self.messages.values())})
        match = MESSAGES_PATH.match(path)
        credentials = _basic_auth(environ)
        if match is None:
            return _error(start_response, 404, 20404, "The requested resource was not found")
        if credentials is None or credentials[0] != match["account"]:
            return _error(start_response, 401, 20003, "Authenticate")
        if method == "POST" and match["sid"] is None:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            form = dict(parse_qsl(environ["wsgi.input"].read(length).decode()))
            return self._create(start_response, account=match["account"], token=credentials[1], form=form)
        if method == "GET" and match["sid"] is None:
            return self._list(
                start_response, account=match["account"], query=dict(parse_qsl(environ.get("QUERY_STRING", "")))
            )
        if method == "GET" and match["sid"]:
            with self._lock:
                message = self.messages.get(match["sid"])
            if message is None:
                return _error(start_response, 404, 20404, "The requested resource was not found")
            return _json(start_response, 200, message)
        return _error(start_response, 405, 20004, "Method not allowed")

    def _list(self, start_response: StartResponse, *, account: str, query: dict[str, str]):
        """Newest first, filtered by `To` and `From` like Twilio's list (one page)."""
        with self._lock:
            found = [
                message
                for message in reversed(self.messages.values())
                if message["account_sid"] == account
                and query.get("To", message["to"]) == message["to"]
                and query.get("From", message["from"]) == message["from"]
            ]
        page_size = int(query.get("PageSize", 50))
        return _json(
            start_response,
            200,
            {
                "messages": found[:page_size],
                "page": 0,
                "page_size": page_size,
                "next_page_uri": None,
                "uri": f"/2010-04-01/Accounts/{account}/Messages.json",
            },
        )

    def _create(self, start_response: StartResponse, *, account: str, token: str, form: dict[str, str]):
        to, body = form.get("To", ""), form.get("Body", "")
        if to in FAILING_NUMBERS:
            code, text = FAILING_NUMBERS[to]
            return _error(start_response, 400, code, text)
        if len(body) > 1600:
            return _error(start_response, 400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        now = datetime.now(tz=UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        message = {
            "sid": f"SM{uuid.uuid4().hex}",
            "account_sid": account,
            "to": to,
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": body,
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "num_media": "0",
            "error_code": None,
            "error_message": None,
            "price": None,
            "price_unit": "USD",
            "api_version": "2010-04-01",
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{account}/Messages/SM.json",
        }
        with self._lock:
            self.messages[message["sid"]] = message
        time.sleep(self.answer_delay)
        if self.callbacks and form.get("StatusCallback"):
            threading.Thread(
                target=self._post_callbacks, args=(message, form["StatusCallback"], token), daemon=True
            ).start()
        return _json(start_response, 201, message)

    def _post_callbacks(self, message: dict[str, Any], url: str, token: str) -> None:
        for status in CALLBACK_STATUSES:
            time.sleep(self.callback_delay)
            with self._lock:
                message["status"] = status
            params = {
                "MessageSid": message["sid"],
                "SmsSid": message["sid"],
                "AccountSid": message["account_sid"],
                "MessageStatus": status,
                "SmsStatus": status,
                "From": message["from"] or "",
                "To": message["to"],
                "ApiVersion": "2010-04-01",
            }
            signature = RequestValidator(token).compute_signature(url, params)
            try:
                requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=5)
            except requests.RequestException:
                return  # Twilio does not redeliver a failed status callback either


def _basic_auth(environ: dict[str, Any]) -> tuple[str, str] | None:
    scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password


def _json(start_response: StartResponse, status: int, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _error(start_response: StartResponse, status: int, code: int, message: str) -> list[bytes]:
    return _json(
        start_response,
        status,
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
    )


def serve(port: int, *, host: str = "127.0.0.1", sandbox: TwilioSandbox | None = None) -> WSGIServer:
    """A server for the sandbox (call serve_forever(), or run it in a thread in tests)."""
    return serve_sandbox(sandbox or TwilioSandbox(), name="twilio-sandbox", port=port, host=host)


if __name__ == "__main__":
    if os.environ.get("TWILIO_ACCOUNT_SID"):
        sys.stderr.write("twilio-sandbox: TWILIO_ACCOUNT_SID is set, the real Twilio is used; not starting\n")
        sys.exit(0)
    server = serve(urlsplit(os.environ.get("TWILIO_SANDBOX_URL", "http://127.0.0.1:8010")).port or 80)
    sys.stderr.write(f"twilio-sandbox: listening on http://127.0.0.1:{server.server_port}\n")
    server.serve_forever()
