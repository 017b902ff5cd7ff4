"""The project's Twilio sandbox served on a free loopback port for a test."""

from collections.abc import Iterator
from contextlib import contextmanager

from deploy.twilio_sandbox import TwilioSandbox, serve
from tests.servers import serving_in_thread


@contextmanager
def running_sandbox(*, callbacks: bool, answer_delay: float = 0.0) -> Iterator[tuple[TwilioSandbox, str]]:
    sandbox = TwilioSandbox(callbacks=callbacks, answer_delay=answer_delay)
    with serving_in_thread(serve(0, sandbox=sandbox)) as url:
        yield sandbox, url
