"""The project's Twilio sandbox served on a free loopback port for a test."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from deploy.twilio_sandbox import TwilioSandbox, serve


@contextmanager
def running_sandbox(*, callbacks: bool, answer_delay: float = 0.0) -> Iterator[tuple[TwilioSandbox, str]]:
    sandbox = TwilioSandbox(callbacks=callbacks, answer_delay=answer_delay)
    server = serve(0, sandbox=sandbox)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sandbox, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
