"""A loopback stand-in for Vapi's REST API, so outbound calls work end to end without credentials.

It speaks the wire format our httpx client uses (JSON `POST /call` with a Bearer key, Vapi's
`Call` objects, `{"message", "error", "statusCode"}` errors), keeps calls in memory, and plays
each call as Vapi would: `status-update` ringing, in-progress and ended, then an
`end-of-call-report`, posted to the server the call names (`assistantOverrides.server`: its
`url`, with its `headers`, or `Authorization: Bearer` the secret of its `credentialId` among the
sandbox's `credentials`, as a Vapi Bearer credential). A call naming no server gets no messages:
the sandbox knows no saved assistant. Like Vapi it refuses (400) a call name or customer name
over 40 characters and a number not in E.164; `+15005550001` is refused as an invalid number.
`GET /call/{id}` and `GET /call` answer like Vapi's (the list newest first, filtered by `id`,
`assistantId`, `phoneNumberId`, `createdAtGt/Ge/Lt/Le` and `limit`, 100 by default, 1 to
1000); `GET /sandbox/calls` lists what was dialled. `answer_delay` holds the answer to
`POST /call` after the call is placed, as a slow Vapi would (a client timing out then does not
know the call exists).

Run: `python -m devtools.vapi_sandbox` (make run starts it when VAPI_API_KEY is unset); it listens
on the port of VAPI_SANDBOX_URL (default http://127.0.0.1:8011) and knows one credential,
VAPI_SERVER_CREDENTIAL_ID holding VAPI_WEBHOOK_SECRET, when that is set.
"""

import json
import operator
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

from devtools.sandbox_server import serve_sandbox

CALL_PATH = re.compile(r"^/call(?:/(?P<id>[^/]+))?$")
INVALID_NUMBER = "+15005550001"
ORG_ID = "org-sandbox"
CALL_STATUSES = ("ringing", "in-progress", "ended")
NAME_LENGTH = 40  # Vapi's most for a call's and a customer's name
E164 = re.compile(r"^\+[1-9]\d{1,14}$")

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _now() -> str:
    """Vapi's timestamp format: UTC to the millisecond, `Z`."""
    return datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instant(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("A time without a zone.")
    return parsed


LIST_TIME_FILTERS: dict[str, Callable[[datetime, datetime], bool]] = {
    "createdAtGt": operator.gt,
    "createdAtGe": operator.ge,
    "createdAtLt": operator.lt,
    "createdAtLe": operator.le,
}


class VapiSandbox:
    """The WSGI app; `calls` holds every call placed, by id."""

    def __init__(self, *, credentials: dict[str, str] | None = None, step_delay: float = 0.05, answer_delay: float = 0):
        self.calls: dict[str, dict[str, Any]] = {}
        self.credentials = credentials or {}
        self.step_delay = step_delay
        self.answer_delay = answer_delay
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
            return self._list(start_response, dict(parse_qsl(environ.get("QUERY_STRING", ""))))
        return _error(start_response, 405, "Method not allowed.")

    def _list(self, start_response: StartResponse, query: dict[str, str]) -> list[bytes]:
        try:
            limit = int(query.get("limit", "100"))
            bounds = {name: _instant(query[name]) for name in LIST_TIME_FILTERS if name in query}
        except ValueError:
            return _error(start_response, 400, "limit must be a number and createdAt filters ISO 8601 dates.")
        if not 1 <= limit <= 1000:
            return _error(start_response, 400, "limit must not be greater than 1000.")
        with self._lock:
            calls = list(reversed(self.calls.values()))
        found = [
            call
            for call in calls
            if all(query.get(name, call[name]) == call[name] for name in ("id", "assistantId", "phoneNumberId"))
            and all(LIST_TIME_FILTERS[name](_instant(call["createdAt"]), bound) for name, bound in bounds.items())
        ]
        return _json(start_response, 200, found[:limit])

    def _create(self, start_response: StartResponse, body: dict[str, Any]) -> list[bytes]:
        customer = body.get("customer") if isinstance(body.get("customer"), dict) else {}
        number = str(customer.get("number", ""))
        missing = [field for field in ("assistantId", "phoneNumberId") if not body.get(field)]
        if missing or not number:
            return _error(start_response, 400, f"{', '.join(missing) or 'customer.number'} must be given.")
        if number == INVALID_NUMBER or not E164.match(number):
            return _error(start_response, 400, "customer.number must be a valid phone number in the E.164 format.")
        for field, value in (("name", body.get("name")), ("customer.name", customer.get("name"))):
            if isinstance(value, str) and len(value) > NAME_LENGTH:
                return _error(start_response, 400, f"{field} must be shorter than or equal to {NAME_LENGTH} characters")
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
        server = call["assistantOverrides"].get("server")
        if isinstance(server, dict) and server.get("url"):
            threading.Thread(target=self._play, args=(call, server), daemon=True).start()
        time.sleep(self.answer_delay)
        return _json(start_response, 201, call)

    def _play(self, call: dict[str, Any], server: dict[str, Any]) -> None:
        """The call rings, is answered, ends; then the report, as Vapi sends them."""
        started = datetime.now(tz=UTC)
        for status in CALL_STATUSES:
            time.sleep(self.step_delay)
            with self._lock:
                call["status"] = status
                call["updatedAt"] = _now()
            extra = {"endedReason": "customer-ended-call"} if status == "ended" else {}
            self._post(server, {"type": "status-update", "status": status, "call": call, **extra})
        purpose = (call["assistantOverrides"].get("variableValues") or {}).get("purpose") or "a call"
        self._post(
            server,
            {
                "type": "end-of-call-report",
                "call": call,
                "endedReason": "customer-ended-call",
                "startedAt": started.isoformat().replace("+00:00", "Z"),
                "endedAt": (started + timedelta(seconds=42)).isoformat().replace("+00:00", "Z"),
                "cost": 0.0642,
                "artifact": {"transcript": f"AI: Hello, I'm calling about {purpose}. User: Thanks, goodbye."},
                "analysis": {"summary": f"Sandbox call about {purpose}."},
            },
        )

    def _post(self, server: dict[str, Any], message: dict[str, Any]) -> None:
        message = {"timestamp": int(time.time() * 1000), "customer": message["call"]["customer"], **message}
        headers = {str(name): str(value) for name, value in (server.get("headers") or {}).items()}
        secret = self.credentials.get(str(server.get("credentialId") or ""))
        if secret and "Authorization" not in headers:  # Vapi: a header named in `headers` wins
            headers["Authorization"] = f"Bearer {secret}"
        try:
            httpx.post(server["url"], json={"message": message}, headers=headers, timeout=5)
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
    credential_id = os.environ.get("VAPI_SERVER_CREDENTIAL_ID", "")
    secret = os.environ.get("VAPI_WEBHOOK_SECRET", "dev-vapi-webhook-secret")
    sandbox = VapiSandbox(credentials={credential_id: secret} if credential_id else {})
    server = serve(urlsplit(os.environ.get("VAPI_SANDBOX_URL", "http://127.0.0.1:8011")).port or 80, sandbox=sandbox)
    sys.stderr.write(f"vapi-sandbox: listening on http://127.0.0.1:{server.server_port}\n")
    server.serve_forever()
