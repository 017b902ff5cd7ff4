"""Fixtures the SMS tests share; import them into a test module by name."""

from collections.abc import Iterator

import pytest

from tests.tenant_apps.sms.sandbox import running_sandbox

SENDER = "+12025550500"


@pytest.fixture
def sender(tenant_a):
    """Tenant A with a sender number (the session's Tenant object is restored afterwards)."""
    tenant_a.tenant.sms_sender = SENDER
    tenant_a.tenant.save(update_fields=["sms_sender"])
    yield tenant_a
    tenant_a.tenant.sms_sender = ""


@pytest.fixture
def sandbox(settings) -> Iterator:
    """The Twilio sandbox on a free port, without status callbacks, as the SDK's Twilio."""
    with running_sandbox(callbacks=False) as (sandbox, url):
        settings.TWILIO_ACCOUNT_SID = ""
        settings.TWILIO_SANDBOX_URL = url
        yield sandbox
