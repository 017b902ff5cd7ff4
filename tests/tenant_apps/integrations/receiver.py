"""A real webhook receiver on a loopback port, as an integration would run one: it verifies
every delivery with the `standardwebhooks` library and records what it got. It can be told
to answer a series of statuses, to redirect, or to hang."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    payload: Any
    # Which of the receiver's secrets verified it (a rotation's overlap: both).
    verified_with: list[str]


@dataclass
class Receiver:
    port: int
    secrets: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    redirect_to: str | None = None
    hang_seconds: float = 0.0
    received: list[Delivery] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def answer(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.requests += 1
        if self.hang_seconds:
            time.sleep(self.hang_seconds)
        verified_with = []
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                continue
            verified_with.append(secret)
        if not verified_with:
            with self.lock:
                self.refused.append(headers.get("webhook-id", ""))
            return 401, {}
        with self.lock:
            self.received.append(Delivery(headers=headers, body=body, payload=payload, verified_with=verified_with))
            status = self.statuses.pop(0) if self.statuses else 200
        if self.redirect_to:
            return 302, {"Location": self.redirect_to}
        return status, {}


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, extra = receiver.answer({key.lower(): value for key, value in self.headers.items()}, body)
            try:
                self.send_response(status)
                for key, value in extra.items():
                    self.send_header(key, value)
                answer = b'{"ok": true}' if status < 300 else b"receiver says no " * 200
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender gave up waiting (the hanging case)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def webhook_receiver(**options: Any) -> Iterator[Receiver]:
    receiver = Receiver(port=0, **options)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
