"""The project's Vapi sandbox served on a free loopback port for a test."""

from collections.abc import Iterator
from contextlib import contextmanager

from devtools.vapi_sandbox import VapiSandbox, serve
from tests.servers import serving_in_thread


@contextmanager
def running_vapi_sandbox(*, credentials: dict[str, str] | None = None) -> Iterator[tuple[VapiSandbox, str]]:
    sandbox = VapiSandbox(credentials=credentials)
    with serving_in_thread(serve(0, sandbox=sandbox)) as url:
        yield sandbox, url
