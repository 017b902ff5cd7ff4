"""A loopback stand-in for Twilio's Messages API, so SMS work end to end without credentials.

It speaks the wire format the real `twilio` SDK uses (form-encoded POST, Basic auth, JSON
answers, Twilio's error JSON), keeps what was sent in memory, counts each body's segments as
carriers do (GSM-7 160 / 153 per part, extension characters taking two; UCS-2 70 / 67), and
posts status callbacks to the message's StatusCallback, signed with the Auth Token the client
authenticated with, exactly as Twilio signs them: `sent` then `delivered`, except for the
delivery failures below.

Numbers that fail when sent to:
- Twilio's magic test numbers (its test credentials refuse them the same way at create):
  +15005550001 invalid (21211), +15005550002 unroutable (21612), +15005550003 no geographic
  permission (21408), +15005550004 has replied STOP (21610), +15005550009 cannot receive SMS
  (21614).
- The sandbox's own, for delivery failures Twilio's test credentials cannot show (they post
  no callbacks): +15005553003 is accepted, `sent`, then `undelivered` with ErrorCode 30003
  (unreachable handset); +15005553007 is accepted, then `failed` with ErrorCode 30007
  (carrier filtering).

A message is fetched by its sid and listed by `To`/`From`, as the reconciliation job does.
`GET /sandbox/messages` lists what was sent and received.

`POST /sandbox/inbound` plays a customer texting the business: a JSON body
`{"from": "+1...", "to": "<the business's number>", "body": "...", "media": [{"content_type":
"image/jpeg"}], "url": "<webhook, optional>"}` makes the sandbox post Twilio's inbound-message
webhook (NumMedia, MediaUrl{N}, MediaContentType{N}, ...) signed with the Auth Token to `url`
or the configured inbound URL, and answers `{"sid", "webhook_status"}`. A media item without
`url` is kept by the sandbox (`content_base64`, else a few placeholder bytes) and served at a
Twilio-shaped Media URL that, like Twilio's, needs the account's Basic auth.

Run: `python -m devtools.twilio_sandbox` (make run starts it when TWILIO_ACCOUNT_SID is unset); it
listens on the port of TWILIO_SANDBOX_URL (default http://127.0.0.1:8010) and posts inbound
texts to our webhook (PUBLIC_BASE_URL, else http://BASE_DOMAIN:PORT, + /api/v1/sms/webhook).
"""

import base64
import binascii
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

from devtools.sandbox_server import serve_sandbox
from tenant_apps.sms.segments import count_segments

MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/.]+))?\.json$")
MEDIA_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)/Media/(?P<media>[^/.]+)$")
FAILING_NUMBERS = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the 'To' number's region.",
    ),
    "+15005550009": (21614, "'To' number is not a valid mobile number."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient."),
}
# Accepted, then a failed delivery: the statuses posted, the final one with its error.
DELIVERY_FAILURES = {
    "+15005553003": (("sent", "undelivered"), 30003, "Unreachable destination handset"),
    "+15005553007": (("failed",), 30007, "Message filtered"),
}
CALLBACK_STATUSES = ("sent", "delivered")
# Twilio's connect + read timeout for a webhook.
WEBHOOK_TIMEOUT_SECONDS = 15
DEFAULT_ACCOUNT_SID = "AC" + "0" * 32
PLACEHOLDER_MEDIA = b"twilio-sandbox media"

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class TwilioSandbox:
    """The WSGI app; `messages` holds every accepted message by sid."""

    def __init__(
        self,
        *,
        callback_delay: float = 0.05,
        callbacks: bool = True,
        answer_delay: float = 0.0,
        auth_token: str = "",
        account_sid: str = DEFAULT_ACCOUNT_SID,
        inbound_url: str = "",
    ):
        self.messages: dict[str, dict[str, Any]] = {}
        # Media of inbound MMS by media sid: (content type, bytes).
        self.media: dict[str, tuple[str, bytes]] = {}
        # The account inbound texts arrive on, its Auth Token (signs their webhook and guards
        # their media) and the number's "A message comes in" URL.
        self.auth_token = auth_token
        self.account_sid = account_sid
        self.inbound_url = inbound_url
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
        if path == "/sandbox/inbound" and method == "POST":
            return self._inbound(start_response, environ)
        credentials = _basic_auth(environ)
        media = MEDIA_PATH.match(path)
        if media is not None and method == "GET":
            return self._media(start_response, media=media["media"], credentials=credentials)
        match = MESSAGES_PATH.match(path)
        if match is None:
            return _error(start_response, 404, 20404, "The requested resource was not found")
        if credentials is None or credentials[0] != match["account"]:
            return _error(start_response, 401, 20003, "Authenticate")
        if method == "POST" and match["sid"] is None:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            pairs = parse_qsl(environ["wsgi.input"].read(length).decode())
            media_urls = [value for name, value in pairs if name == "MediaUrl"]
            return self._create(
                start_response, account=match["account"], token=credentials[1], form=dict(pairs), media_urls=media_urls
            )
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

    def _create(
        self, start_response: StartResponse, *, account: str, token: str, form: dict[str, str], media_urls: list[str]
    ):
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
            # An MMS is one message whatever its text; a text costs its segments.
            "num_segments": "1" if media_urls else str(count_segments(body).count),
            "num_media": str(len(media_urls)),
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
        statuses, error_code, error_message = DELIVERY_FAILURES.get(message["to"], (CALLBACK_STATUSES, None, None))
        for status in statuses:
            final_failure = error_code is not None and status == statuses[-1]
            time.sleep(self.callback_delay)
            with self._lock:
                message["status"] = status
                if final_failure:
                    message["error_code"], message["error_message"] = error_code, error_message
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
            if final_failure:
                params["ErrorCode"] = str(error_code)
            signature = RequestValidator(token).compute_signature(url, params)
            try:
                requests.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=5)
            except requests.RequestException:
                return  # Twilio does not redeliver a failed status callback either

    def _inbound(self, start_response: StartResponse, environ: dict[str, Any]):
        """Post Twilio's signed inbound-message webhook for a text or MMS from a customer."""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
        except ValueError:
            return _error(start_response, 400, 20001, "Send a JSON object.")
        if not isinstance(request, dict):
            return _error(start_response, 400, 20001, "Send a JSON object.")
        sender, to, body = request.get("from"), request.get("to"), request.get("body", "")
        media = request.get("media") or []
        url = request.get("url") or self.inbound_url
        if not (isinstance(sender, str) and sender and isinstance(to, str) and to and isinstance(body, str)):
            return _error(start_response, 400, 21604, "'from' and 'to' (strings) are required; 'body' is a string.")
        if not isinstance(media, list) or len(media) > 10 or not all(isinstance(item, dict) for item in media):
            return _error(start_response, 400, 21623, "'media' is a list of at most 10 objects.")
        if not all(isinstance(item.get(key, ""), str) for item in media for key in ("url", "content_type")):
            return _error(start_response, 400, 21623, "A media item's 'url' and 'content_type' are strings.")
        try:
            contents = [
                base64.b64decode(str(item.get("content_base64") or ""), validate=True) or PLACEHOLDER_MEDIA
                for item in media
            ]
        except ValueError:
            return _error(start_response, 400, 21620, "A media item's 'content_base64' is not base64.")
        if not url or not isinstance(url, str) or not self.auth_token:
            return _error(start_response, 400, 21609, "No inbound webhook URL or Auth Token is configured.")
        sid = f"{'MM' if media else 'SM'}{uuid.uuid4().hex}"
        base = f"{environ['wsgi.url_scheme']}://{environ.get('HTTP_HOST') or environ['SERVER_NAME']}"
        params = {
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "AccountSid": self.account_sid,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": str(len(media)),
            "NumSegments": "1" if media else str(count_segments(body).count),
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
            "FromCountry": "US",
            "ToCountry": "US",
        }
        for index, (item, content) in enumerate(zip(media, contents, strict=True)):
            content_type = item.get("content_type") or "image/jpeg"
            media_url = item.get("url")
            if not media_url:
                media_sid = f"ME{uuid.uuid4().hex}"
                with self._lock:
                    self.media[media_sid] = (content_type, content)
                media_url = f"{base}/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media/{media_sid}"
            params[f"MediaUrl{index}"] = media_url
            params[f"MediaContentType{index}"] = content_type
        with self._lock:
            self.messages[sid] = {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": to,
                "from": sender,
                "body": body,
                "status": "received",
                "direction": "inbound",
                "num_segments": params["NumSegments"],
                "num_media": params["NumMedia"],
                "error_code": None,
                "date_created": datetime.now(tz=UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
            }
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        try:
            answer = requests.post(
                url, data=params, headers={"X-Twilio-Signature": signature}, timeout=WEBHOOK_TIMEOUT_SECONDS
            )
        except requests.RequestException as error:
            return _error(start_response, 502, 11200, f"The webhook could not be reached: {error}")
        return _json(start_response, 200, {"sid": sid, "webhook_status": answer.status_code, "params": params})

    def _media(self, start_response: StartResponse, *, media: str, credentials: tuple[str, str] | None):
        """An inbound MMS's media, to the account's Basic auth only (Twilio's HTTP auth on media)."""
        if credentials != (self.account_sid, self.auth_token):
            return _error(start_response, 401, 20003, "Authenticate")
        with self._lock:
            found = self.media.get(media)
        if found is None:
            return _error(start_response, 404, 20404, "The requested resource was not found")
        content_type, content = found
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(content)))])
        return [content]


def _basic_auth(environ: dict[str, Any]) -> tuple[str, str] | None:
    scheme, _, encoded = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None  # not credentials at all: answered 401 like a missing header
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
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    from tenant_apps.sms.gateway import SANDBOX_ACCOUNT_SID, status_callback_url

    # One webhook takes Twilio's inbound texts and status callbacks.
    app = TwilioSandbox(
        auth_token=settings.TWILIO_AUTH_TOKEN, account_sid=SANDBOX_ACCOUNT_SID, inbound_url=status_callback_url()
    )
    server = serve(urlsplit(settings.TWILIO_SANDBOX_URL).port or 80, sandbox=app)
    sys.stderr.write(f"twilio-sandbox: listening on http://127.0.0.1:{server.server_port}\n")
    server.serve_forever()
