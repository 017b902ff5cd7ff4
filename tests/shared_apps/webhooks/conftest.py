from collections.abc import Iterator

import pytest
from django.db import connection

from shared_apps.webhooks.handlers import register_webhook_handler, unregister_webhook_handler, webhook_handler
from shared_apps.webhooks.models import WebhookEvent

TEST_PROVIDER = "testprovider"


@pytest.fixture
def recording_handler() -> Iterator[list[tuple[str, str]]]:
    """A handler for TEST_PROVIDER that records (active schema, dedupe key) per call."""
    calls: list[tuple[str, str]] = []

    def handler(event: WebhookEvent) -> None:
        calls.append((connection.schema_name, event.dedupe_key))

    previous = webhook_handler(TEST_PROVIDER)
    register_webhook_handler(TEST_PROVIDER, handler)
    yield calls
    unregister_webhook_handler(TEST_PROVIDER)
    if previous is not None:
        register_webhook_handler(TEST_PROVIDER, previous)
