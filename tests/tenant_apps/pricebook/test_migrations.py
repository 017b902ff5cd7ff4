"""The receptionist's former `voice_services` setting becomes services of the price book."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from shared_apps.tenants.models import Tenant
from tenant_apps.pricebook.models import PriceBookItem


def migrate(targets: list[tuple[str, str]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as tests/tenant_apps/customers/test_migrations.py
    MigrationExecutor(connection).migrate(targets)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def test_each_voice_service_becomes_a_price_book_service_once(tenant_a, tenant_b):
    services = [
        {"name": " Leak repair ", "duration_minutes": 60},
        {"name": "Boiler service", "duration_minutes": 90},
        {"name": "Drain survey", "duration_minutes": 45},
    ]
    Tenant.objects.filter(pk=tenant_a.tenant.pk).update(voice_services=services)
    Tenant.objects.filter(pk=tenant_b.tenant.pk).update(voice_services=[{"name": "B only", "duration_minutes": 30}])
    with tenant_a.schema():
        migrate([("pricebook", "0001_price_book")])
        PriceBookItem.objects.create(kind="service", name="BOILER SERVICE", unit_price=12000, duration_minutes=120)

        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

        items = list(PriceBookItem.objects.order_by("name").values_list("name", "unit_price", "duration_minutes"))

    assert items == [
        ("BOILER SERVICE", 12000, 120),  # the price book's own is kept
        ("Drain survey", 0, 45),
        ("Leak repair", 0, 60),
    ]
