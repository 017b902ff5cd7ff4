"""'May we contact this number' is one rule (customers.services.require_contactable): texts,
calls and automatic texts refuse a number any customer opted out with, and an automatic text
refused for another reason is not recorded as an opt-out."""

import pytest

from tenant_apps.customers.models import Customer
from tenant_apps.customers.services import RecipientOptedOut
from tenant_apps.sms import automatic, services
from tenant_apps.sms.models import AutomaticText
from tenant_apps.voice import services as voice_services
from tests.factories import CustomerFactory
from tests.tenant_apps.sms import fixtures

sender = fixtures.sender
PHONE = "+12025550177"


def test_a_text_that_cannot_be_sent_is_not_recorded_as_an_opt_out(sender):
    with sender.schema():
        customer = CustomerFactory(phone=PHONE)

        decision = automatic.send_automatic_text(
            tenant=sender.tenant, send_key="too-long", kind="test", customer=customer, body="x" * 1601
        )

        assert (decision.status, decision.skip_reason) == ("skipped", "unsendable")
        assert not Customer.objects.get(pk=customer.pk).sms_opt_out


def test_a_number_opted_out_on_another_customer_is_not_contacted_by_any_channel(sender):
    sender.store_settings(vapi_phone_number_id="pn_contactable", vapi_assistant_id="asst_contactable")
    with sender.schema():
        CustomerFactory(phone=PHONE, sms_opt_out=True)
        customer = CustomerFactory(phone=PHONE)  # the same number, on a record that did not opt out

        automatic_decision = automatic.send_automatic_text(
            tenant=sender.tenant, send_key="opted-out", kind="test", customer=customer, body="Hello"
        )
        with pytest.raises(RecipientOptedOut):
            services.queue_sms(tenant=sender.tenant, customer_id=customer.pk, body="Hello")
        with pytest.raises(RecipientOptedOut):
            voice_services.queue_call(tenant=sender.tenant, customer_id=customer.pk)

        assert automatic_decision.skip_reason == AutomaticText.SkipReason.OPTED_OUT
