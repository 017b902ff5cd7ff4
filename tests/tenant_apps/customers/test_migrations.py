"""Customers' free-text addresses become their first, default property."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tenant_apps.customers.models import Customer, Property


def migrate(targets: list[tuple[str, str]]) -> None:
    """Migrate inside the test's transaction. Foreign keys are checked at once meanwhile: a
    real migration commits its rows before the next one alters their table, and PostgreSQL
    refuses to alter a table with checks still pending."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    MigrationExecutor(connection).migrate(targets)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_each_address_becomes_the_customers_default_property(tenant_a):
    with tenant_a.schema():
        migrate([("customers", "0003_properties")])  # before the data migration
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO customers_customer (name, email, phone, address, notes, sms_opt_out, version,"
                " created_at, updated_at) VALUES"
                " ('Ada', '', '', E'  12 High Street\\nLeeds  ', '', false, 1, now(), now()),"
                " ('Bob', '', '', '   ', '', false, 1, now(), now())"
            )

        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

        ada = Customer.objects.get(name="Ada")
        places = list(Property.objects.filter(customer__name__in=["Ada", "Bob"]).values_list("customer_id", "lines"))
        default = Property.objects.get(customer=ada)

    assert places == [(ada.pk, "12 High Street\nLeeds")]  # none for a blank address
    assert (default.is_default, default.country, default.version) == (True, "", 1)
    assert ada.address == "  12 High Street\nLeeds  "  # kept as the postal address


def test_migrating_back_removes_only_the_copies(tenant_a):
    with tenant_a.schema():
        copied = Customer.objects.create(name="Copied", address="1 Mill Lane")
        kept = Customer.objects.create(name="Kept", address="2 Mill Lane")
        Property.objects.create(customer=copied, lines="1 Mill Lane", is_default=True)
        Property.objects.create(customer=kept, lines="2 Mill Lane", is_default=True)
        Property.objects.create(customer=kept, lines="Shop, 9 Quay", is_default=False)

        migrate([("customers", "0003_properties")])
        left = sorted(Property.objects.values_list("lines", flat=True))
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
        again = Property.objects.filter(customer=copied).count()

    assert left == ["2 Mill Lane", "Shop, 9 Quay"]
    assert again == 1
