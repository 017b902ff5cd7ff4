import factory

from tenant_apps.sms.models import Message


class OutboundMessageFactory(factory.django.DjangoModelFactory):
    """A message we sent (sending itself is not built yet), as Twilio accepted it."""

    class Meta:
        model = Message

    direction = Message.Direction.OUTBOUND
    from_number = "+12025550100"
    to_number = factory.Sequence(lambda n: f"+1202555{2000 + n % 1000:04d}")
    body = "Your appointment is tomorrow at 9:00."
    status = Message.Status.QUEUED
    provider_sid = factory.Sequence(lambda n: f"SM{n:032d}")
