"""Fixtures the SMS tests share; import them into a test module by name."""

from collections.abc import Iterator

import pytest

from shared_apps.tenants.services import update_tenant_settings
from tests.tenant_apps.sms.sandbox import running_sandbox

SENDER = "+12025550500"


@pytest.fixture
def sender(tenant_a):
    """Tenant A with a sender number, set as the business sets it (the number is its Twilio route)."""
    update_tenant_settings(tenant_id=tenant_a.tenant.pk, changes={"sms_sender": SENDER})
    return tenant_a


@pytest.fixture
def sandbox(settings) -> Iterator:
    """The Twilio sandbox on a free port, without status callbacks, as the SDK's Twilio."""
    with running_sandbox(callbacks=False) as (sandbox, url):
        settings.TWILIO_ACCOUNT_SID = ""
        settings.TWILIO_SANDBOX_URL = url
        yield sandbox
