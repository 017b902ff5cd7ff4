"""A loopback stand-in for Vapi's REST API, so outbound calls work end to end without credentials.

It speaks the wire format our httpx client uses (JSON `POST /call` with a Bearer key, Vapi's
`Call` objects, `{"message", "error", "statusCode"}` errors), keeps calls in memory, and, when
given our webhook URL, plays each call as Vapi would: `status-update` ringing, in-progress and
ended, then an `end-of-call-report`, each sent with the server secret in `X-Vapi-Secret`.
`+15005550001` is refused as an invalid number (400). `GET /call/{id}` and `GET /call` answer
like Vapi's; `GET /sandbox/calls` lists what was dialled.

Run: `python -m deploy.vapi_sandbox` (make run starts it when VAPI_API_KEY is unset); it listens
on the port of VAPI_SANDBOX_URL (default http://127.0.0.1:8011) and posts to VAPI_WEBHOOK_URL
(default http://localhost:8000/api/v1/voice/webhook) with VAPI_WEBHOOK_SECRET.
"""

import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from wsgiref.simple_server import WSGIServer

import httpx

from deploy.sandbox_server import serve_sandbox

CALL_PATH = re.compile(r"^/call(?:/(?P<id>[^/]+))?$")
INVALID_NUMBER = "+15005550001"
ORG_ID = "org-sandbox"
CALL_STATUSES = ("ringing", "in-progress", "ended")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _now() -> str:
    return datetime.now(tz=UTC).isoformat().replace("+00:00", "Z")


class VapiSandbox:
    """The WSGI app; `calls` holds every call placed, by id."""

    def __init__(self, *, webhook_url: str = "", secret: str = "", step_delay: float = 0.05):
        self.calls: dict[str, dict[str, Any]] = {}
        self.webhook_url = webhook_url
        self.secret = secret
        self.step_delay = step_delay
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ["REQUEST_METHOD"]
        if path == "/sandbox/calls" and method == "GET":
            with self._lock:
                return _json(start_response, 200, {"calls": list(self.calls.values())})
        match = CALL_PATH.match(path)
        if match is None:
            return _error(start_response, 404, "Cannot find that resource.")
        if (
            not environ.get("HTTP_AUTHORIZATION", "").startswith("Bearer ")
            or environ["HTTP_AUTHORIZATION"] == "Bearer "
        ):
            return _error(start_response, 401, "Invalid Key. Hot tip, you may be using the private key instead.")
        if method == "POST" and match["id"] is None:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
            except ValueError:
                return _error(start_response, 400, "Invalid JSON.")
            return self._create(start_response, body if isinstance(body, dict) else {})
        if method == "GET" and match["id"]:
            with self._lock:
                call = self.calls.get(match["id"])
            return _json(start_response, 200, call) if call else _error(start_response, 404, "Call not found.")
        if method == "GET":
            query = dict(parse_qsl(environ.get("QUERY_STRING", "")))
            with self._lock:
                found = [
                    call
                    for call in reversed(self.calls.values())
                    if query.get("phoneNumberId", call["phoneNumberId"]) == call["phoneNumberId"]
                    and call["createdAt"] > query.get("createdAtGt", "")
                ]
            return _json(start_response, 200, found[: int(query.get("limit", 100))])
        return _error(start_response, 405, "Method not allowed.")

    def _create(self, start_response: StartResponse, body: dict[str, Any]) -> list[bytes]:
        customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
        number = str(customer.get("number", ""))
        missing = [field for field in ("assistantId", "phoneNumberId") if not body.get(field)]
        if missing or not number:
            return _error(start_response, 400, f"{', '.join(missing) or 'customer.number'} must be given.")
        if number == INVALID_NUMBER:
            return _error(start_response, 400, "customer.number must be a valid phone number in the E.164 format.")
        now = _now()
        call = {
            "id": str(uuid.uuid4()),
            "orgId": ORG_ID,
            "createdAt": now,
            "updatedAt": now,
            "type": "outboundPhoneCall",
            "status": "queued",
            "name": body.get("name"),
            "assistantId": body["assistantId"],
            "phoneNumberId": body["phoneNumberId"],
            "customer": customer,
            "assistantOverrides": body.get("assistantOverrides") or {},
        }
        with self._lock:
            self.calls[call["id"]] = call
        if self.webhook_url:
            threading.Thread(target=self._play, args=(call,), daemon=True).start()
        return _json(start_response, 201, call)

    def _play(self, call: dict[str, Any]) -> None:
        """The call rings, is answered, ends; then the report, as Vapi sends them."""
        started = datetime.now(tz=UTC)
        for status in CALL_STATUSES:
            time.sleep(self.step_delay)
            with self._lock:
                call["status"] = status
                call["updatedAt"] = _now()
            extra = {"endedReason": "customer-ended-call"} if status == "ended" else {}
            self._post({"type": "status-update", "status": status, "call": call, **extra})
        purpose = (call["assistantOverrides"].get("variableValues") or {}).get("purpose") or "a call"
        self._post(
            {
                "type": "end-of-call-report",
                "call": call,
                "endedReason": "customer-ended-call",
                "startedAt": started.isoformat().replace("+00:00", "Z"),
                "endedAt": (started + timedelta(seconds=42)).isoformat().replace("+00:00", "Z"),
                "cost": 0.0642,
                "artifact": {"transcript": f"AI: Hello, I'm calling about {purpose}. User: Thanks, goodbye."},
                "analysis": {"summary": f"Sandbox call about {purpose}."},
            }
        )

    def _post(self, message: dict[str, Any]) -> None:
        message = {"timestamp": int(time.time() * 1000), "customer": message["call"]["customer"], **message}
        try:
            httpx.post(self.webhook_url, json={"message": message}, headers={"X-Vapi-Secret": self.secret}, timeout=5)
        except httpx.HTTPError:
            return  # Vapi does not redeliver without a backoffPlan either


def _json(start_response: StartResponse, status: int, body: Any) -> list[bytes]:
    payload = json.dumps(body).encode()
    reason = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _error(start_response: StartResponse, status: int, message: str) -> list[bytes]:
    return _json(start_response, status, {"message": message, "error": "Error", "statusCode": status})


def serve(port: int, *, host: str = "127.0.0.1", sandbox: VapiSandbox | None = None) -> WSGIServer:
    """A server for the sandbox (call serve_forever(), or run it in a thread in tests)."""
    return serve_sandbox(sandbox or VapiSandbox(), name="vapi-sandbox", port=port, host=host)


if __name__ == "__main__":
    if os.environ.get("VAPI_API_KEY"):
        sys.stderr.write("vapi-sandbox: VAPI_API_KEY is set, the real Vapi is used; not starting\n")
        sys.exit(0)
    port = os.environ.get("PORT", "8000")
    sandbox = VapiSandbox(
        webhook_url=os.environ.get("VAPI_WEBHOOK_URL", f"http://localhost:{port}/api/v1/voice/webhook"),
        secret=os.environ.get("VAPI_WEBHOOK_SECRET", "dev-vapi-webhook-secret"),
    )
    server = serve(urlsplit(os.environ.get("VAPI_SANDBOX_URL", "http://127.0.0.1:8011")).port or 80, sandbox=sandbox)
    sys.stderr.write(f"vapi-sandbox: listening on http://127.0.0.1:{server.server_port}\n")
    server.serve_forever()
