"""factory_boy factories for tenant rows; use them inside `with tenant.schema():`."""

import factory

from tenant_apps.customers.models import Customer


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.test")
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
