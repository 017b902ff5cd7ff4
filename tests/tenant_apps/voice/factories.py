import factory

from tenant_apps.voice.models import Call


class CallFactory(factory.django.DjangoModelFactory):
    """An outbound call Vapi placed and reported on."""

    class Meta:
        model = Call

    direction = Call.Direction.OUTBOUND
    status = Call.Status.ENDED
    customer_number = factory.Sequence(lambda n: f"+1202555{3000 + n % 1000:04d}")
    vapi_call_id = factory.Sequence(lambda n: f"vapi-call-{n}")
    summary = "Confirmed Tuesday's visit."
    ended_reason = "customer-ended-call"
