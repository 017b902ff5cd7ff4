"""The project's Vapi sandbox served on a free loopback port for a test."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from deploy.vapi_sandbox import VapiSandbox, serve


@contextmanager
def running_vapi_sandbox(*, webhook_url: str = "", secret: str = "") -> Iterator[tuple[VapiSandbox, str]]:
    sandbox = VapiSandbox(webhook_url=webhook_url, secret=secret)
    server = serve(0, sandbox=sandbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sandbox, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
