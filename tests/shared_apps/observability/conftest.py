from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared_apps.observability import tracing
from shared_apps.observability.context import request_id_var, tenant_var

# OpenTelemetry's provider is set once per process: the first test that asks installs it with
# this exporter behind the scrubber; each test instruments the libraries for itself.
_exporter = InMemorySpanExporter()


@pytest.fixture
def spans(settings) -> Iterator[InMemorySpanExporter]:
    """Tracing on, as OTEL_* would turn it on, with the finished (scrubbed) spans kept here; a
    span for every SQL statement and Redis command however quick (`folding` tests the default)."""
    settings.TRACING_CLIENT_SPAN_MIN_MS = 0
    if tracing.is_installed():
        tracing.instrument_libraries()
    else:
        tracing.install_tracing([SimpleSpanProcessor(_exporter)])
    _exporter.clear()
    # No request or job is active when the test starts, whatever an earlier test left set.
    tokens = (tenant_var.set("-"), request_id_var.set("-"))
    yield _exporter
    tenant_var.reset(tokens[0])
    request_id_var.reset(tokens[1])
    tracing.uninstrument_libraries()
    _exporter.clear()
