"""A customer is found by the address of any of its properties."""

from tests.api.test_search import found, search
from tests.factories import CustomerFactory, PropertyFactory


def test_a_property_address_finds_its_customer_once(tenant_a, tenant_b):
    with tenant_a.schema():
        landlord = CustomerFactory(name="Harbour Lettings")
        PropertyFactory(customer=landlord, lines="12 Wapping Wharf", city="Bristol", postal_code="BS1 4RW")
        PropertyFactory(customer=landlord, lines="3 Wapping Road", city="Bristol", postal_code="BS1 4RH")
        CustomerFactory(name="Somebody Else")
    with tenant_b.schema():
        PropertyFactory(lines="1 Wapping Lane", city="London")

    body = search(tenant_a, "wapping")

    assert found(tenant_a, "wapping") == [("customer", landlord.pk)]
    assert found(tenant_a, "BS1 4RW") == [("customer", landlord.pk)]
    assert found(tenant_b, "Harbour") == []
    assert "<mark>Wapping</mark>" in body["items"][0]["snippet"]


def test_a_new_search_language_recomputes_property_addresses(tenant_a):
    with tenant_a.schema():
        owner = CustomerFactory(name="Quay Holdings")
        PropertyFactory(customer=owner, lines="Gardens of the old mill", city="Leeds")

    before = found(tenant_a, "garden")
    tenant_a.api().patch("/search/settings", {"language": "english"})

    assert before == []
    assert found(tenant_a, "garden") == [("customer", owner.pk)]
