"""An S3-compatible server for development and tests: moto's S3 (the `moto[server]` package),
run as its own process by devtools/devservices.py when S3_ENDPOINT_URL is unset.

Usage::

    python -m devtools.s3_server --port 20004 --bucket servicedesk --secret-key KEY

moto speaks S3's wire protocol (what boto3 and django-storages send) but checks no
credentials: it would hand any object to anyone, take a presigned POST whatever its policy
says and serve a presigned URL long after it expired. So that development and the tests see
what S3 (or R2, MinIO) does with the requests this project makes, the app is wrapped in
`S3RequestChecks`, which refuses, as S3 does and with S3's error codes:

* a request with no credentials at all (no Authorization header, no presigned query, no
  signed POST form): ``AccessDenied``;
* a presigned URL after its ``X-Amz-Date`` + ``X-Amz-Expires``: ``AccessDenied``,
  "Request has expired";
* a browser POST whose policy signature does not match the secret key, whose policy has
  expired, or whose fields break a condition: ``key`` (eq / starts-with), ``Content-Type``
  (eq / starts-with) and ``content-length-range`` on the file's size (``EntityTooLarge``,
  ``EntityTooSmall``).

Signatures of header-signed and presigned requests are not recomputed (moto does not either).
Objects live in the process's memory: moto cannot persist them, so a restart of this
server starts with an empty bucket (re-created at start). Its log and pidfile are under
``.local/s3``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import http.client
import io
import json
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from werkzeug.formparser import parse_form_data

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _error(start_response: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(code)}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
    ).encode()
    start_response(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _amz_time(value: str) -> float:
    return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def _signing_key(secret_key: str, credential: str) -> bytes:
    """SigV4's derived key for the scope in `credential` (AKID/date/region/service/aws4_request)."""
    _, day, region, service, terminal = credential.split("/")
    key = ("AWS4" + secret_key).encode()
    for part in (day, region, service, terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class S3RequestChecks:
    """WSGI middleware: the credential, expiry and POST-policy checks S3 makes and moto does not."""

    def __init__(self, app: Callable[[Environ, StartResponse], Iterable[bytes]], *, secret_key: str):
        self.app = app
        self.secret_key = secret_key

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        content_type = environ.get("CONTENT_TYPE", "")
        if environ["REQUEST_METHOD"] == "POST" and content_type.startswith("multipart/form-data"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            refused = self._check_post_policy(environ, body, start_response)
            if refused is not None:
                return refused
            environ["wsgi.input"] = io.BytesIO(body)
        elif "X-Amz-Signature" in query:
            expires_at = _amz_time(query["X-Amz-Date"][0]) + int(query["X-Amz-Expires"][0])
            if time.time() > expires_at:
                return _error(start_response, "403 Forbidden", "AccessDenied", "Request has expired")
        elif not environ.get("HTTP_AUTHORIZATION", "").startswith("AWS4-HMAC-SHA256 "):
            return _error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
        return self.app(environ, start_response)

    def _check_post_policy(self, environ: Environ, body: bytes, start_response: StartResponse) -> list[bytes] | None:
        copy = dict(environ, **{"wsgi.input": io.BytesIO(body)})
        _, form, files = parse_form_data(copy)
        fields = {name.lower(): value for name, value in form.items()}
        policy_b64 = fields.get("policy", "")
        credential = fields.get("x-amz-credential", "")
        if not policy_b64 or credential.count("/") != 4:
            return _error(start_response, "403 Forbidden", "AccessDenied", "Access Denied")
        expected = hmac.new(_signing_key(self.secret_key, credential), policy_b64.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields.get("x-amz-signature", "")):
            return _error(
                start_response,
                "403 Forbidden",
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        policy = json.loads(base64.b64decode(policy_b64))
        expiration = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
        if datetime.now(UTC) > expiration:
            return _error(start_response, "403 Forbidden", "AccessDenied", "Policy expired")
        upload = files.get("file")
        size = len(upload.read()) if upload is not None else 0
        for condition in policy.get("conditions", []):
            failed = self._failed_condition(condition, fields, size)
            if failed is not None:
                code, message = failed
                return _error(start_response, "400 Bad Request", code, message)
        return None

    @staticmethod
    def _failed_condition(condition: Any, fields: dict[str, str], size: int) -> tuple[str, str] | None:
        if isinstance(condition, dict):
            ((name, value),) = condition.items()
            condition = ["eq", f"${name}", value]
        operator, *arguments = condition
        if operator == "content-length-range":
            low, high = (int(bound) for bound in arguments)
            if size > high:
                return "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size"
            if size < low:
                return "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size"
            return None
        name, value = arguments
        actual = fields.get(name.lstrip("$").lower())
        if name.lstrip("$").lower() == "bucket":
            return None  # the bucket is in the path, not a form field
        if operator == "eq" and actual != value:
            return "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
        if operator == "starts-with" and not (actual or "").startswith(value):
            return "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}"
        return None


# Header-signed requests pass the checks on their Authorization header's form; moto reads the
# region from it. (devtools/devservices.py checks the bucket with the same header.)
SETUP_AUTHORIZATION = "AWS4-HMAC-SHA256 Credential=devservices/20260101/us-east-1/s3/aws4_request, Signature=0"


def _create_bucket(port: int, bucket: str) -> None:
    """Create `bucket` through the server itself (idempotent: an existing one is kept)."""
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("PUT", f"/{bucket}", headers={"Authorization": SETUP_AUTHORIZATION})
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"s3_server: could not create bucket {bucket!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.s3_server", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--secret-key", required=True)
    args = parser.parse_args(argv)

    import threading

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    app = S3RequestChecks(DomainDispatcherApplication(create_backend_app), secret_key=args.secret_key)
    server = make_server(args.host, args.port, app, threaded=True)
    threading.Thread(target=_create_bucket, args=(args.port, args.bucket), daemon=True).start()
    print(f"s3_server: serving S3 on http://{args.host}:{args.port}, bucket {args.bucket}", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
