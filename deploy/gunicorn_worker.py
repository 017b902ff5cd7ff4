"""gunicorn's threaded worker, answering the requests gunicorn itself refuses (a request line
or headers past its limits, a malformed request line) in the API's error envelope instead of
gunicorn's text/html page. These never reach Django, so the envelope is written here."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from gunicorn.http import errors
from gunicorn.workers.gthread import ThreadWorker

# (status, reason, message) by what gunicorn raised; anything else keeps gunicorn's answer.
REFUSALS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (errors.LimitRequestLine, 414, "URI Too Long", "The request line (path and query) is too long."),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large", "The request headers are too large."),
    (errors.InvalidRequestLine, 400, "Bad Request", "Malformed request line."),
    (errors.InvalidRequestMethod, 400, "Bad Request", "Malformed request method."),
    (errors.InvalidHTTPVersion, 400, "Bad Request", "Unsupported HTTP version."),
    (errors.InvalidHeader, 400, "Bad Request", "Malformed request header."),
    (errors.InvalidHeaderName, 400, "Bad Request", "Malformed request header."),
)


def envelope_response(status: int, reason: str, message: str, code: str) -> bytes:
    """A complete HTTP/1.1 response holding the error envelope (api/errors.py's shape)."""
    request_id = uuid.uuid4().hex
    body = json.dumps(
        {
            "statusCode": status,
            "timestamp": datetime.now(tz=UTC).isoformat(),
            "message": message,
            "errors": [{"code": code}],
            "path": "",  # the request line was not read
            "requestId": request_id,
        }
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-Request-ID: {request_id}\r\n\r\n"
    )
    return head.encode() + body


class EnvelopeThreadWorker(ThreadWorker):
    def handle_error(self, req: Any, client: Any, addr: Any, exc: Exception) -> None:
        refusal = next((entry for entry in REFUSALS if isinstance(exc, entry[0])), None)
        if refusal is None:
            super().handle_error(req, client, addr, exc)
            return
        _, status, reason, message = refusal
        self.log.warning("Invalid request from ip=%s: %s", (addr or ("",))[0], exc)
        try:
            client.sendall(envelope_response(status, reason, message, type(exc).__name__))
        except OSError:
            self.log.debug("Failed to send error message.")
