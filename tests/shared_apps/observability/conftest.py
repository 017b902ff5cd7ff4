from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from shared_apps.observability import tracing

# OpenTelemetry's provider is set once per process: the first test that asks installs it with
# this exporter behind the scrubber; each test instruments the libraries for itself.
_exporter = InMemorySpanExporter()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, as OTEL_* would turn it on, with the finished (scrubbed) spans kept here."""
    if tracing.is_installed():
        tracing.instrument_libraries()
    else:
        tracing.install_tracing([SimpleSpanProcessor(_exporter)])
    _exporter.clear()
    yield _exporter
    tracing.uninstrument_libraries()
    _exporter.clear()
