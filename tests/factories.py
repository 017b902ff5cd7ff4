"""factory_boy factories for tenant rows; use them inside `with tenant.schema():`."""

import factory

from tenant_apps.customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")


class TextMessageFactory(factory.django.DjangoModelFactory):
    """An inbound text, as the SMS webhook stores it."""

    class Meta:
        model = "sms.Message"

    direction = "inbound"
    from_number = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    to_number = "+12025550100"
    body = "Hello"
    status = "received"


class CallFactory(factory.django.DjangoModelFactory):
    """An ended inbound call with its end-of-call report."""

    class Meta:
        model = "voice.Call"

    direction = "inbound"
    status = "ended"
    customer_number = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    summary = ""
    transcript = ""


class PriceBookItemFactory(factory.django.DjangoModelFactory):
    """An active service of the price book."""

    class Meta:
        model = "pricebook.PriceBookItem"

    kind = "service"
    name = factory.Sequence(lambda n: f"Service {n}")
    unit_price = 9000
    unit = "hour"
    tax_rate = 0
    duration_minutes = 60


class PropertyFactory(factory.django.DjangoModelFactory):
    """A customer's property (a new customer's unless given)."""

    class Meta:
        model = "customers.Property"

    customer = factory.SubFactory(CustomerFactory)
    lines = factory.Sequence(lambda n: f"{n} Market Street")
    city = "Springfield"
    postal_code = "62704"
