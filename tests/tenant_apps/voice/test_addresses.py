"""The receptionist books visits at the caller's own addresses, and its answers stay Vapi's type."""

from datetime import timedelta

from vapi.types import ServerMessageResponseToolCalls

from tenant_apps.appointments.models import Appointment
from tenant_apps.customers.models import Property
from tests.factories import CustomerFactory, PriceBookItemFactory, PropertyFactory
from tests.tenant_apps.voice.conftest import next_business_day
from tests.tenant_apps.voice.payloads import CALLER, message, post, results, tool_calls
from tests.tenant_apps.voice.vapi_types import assert_vapi_type


def book(day, hour: int, **args):
    body = {"starts_at": f"{day.isoformat()}T{hour:02d}:00", "duration_minutes": 60, **args}
    return post(tool_calls((f"book-{hour}", "book_appointment", body)))


def test_find_customer_lists_the_callers_addresses_default_first(voice_lines, tenant_a):
    with tenant_a.schema():
        caller = CustomerFactory(phone=CALLER)
        shop = PropertyFactory(customer=caller, lines="9 Quay", city="Bristol", postal_code="BS1")
        home = PropertyFactory(customer=caller, lines="1 Mill Lane", city="Bath", postal_code="BA1", is_default=True)
        PropertyFactory()  # someone else's

    response = post(tool_calls(("find", "find_customer", {})))

    assert_vapi_type(ServerMessageResponseToolCalls, response.json())
    assert results(response)["find"]["addresses"] == [
        {"property_id": home.pk, "address": "1 Mill Lane, Bath BA1", "default": True},
        {"property_id": shop.pk, "address": "9 Quay, Bristol BS1", "default": False},
    ]


def test_a_booking_goes_to_the_named_address_the_default_or_a_new_one(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    with tenant_a.schema():
        caller = CustomerFactory(phone=CALLER)
        home = PropertyFactory(customer=caller, lines="1 Mill Lane", city="Bath", postal_code="BA1", is_default=True)
        shop = PropertyFactory(customer=caller, lines="9 Quay", city="Bristol", postal_code="BS1")

    named = book(day, 9, property_id=shop.pk)
    default = book(day, 11, name="Ada")
    said = book(day, 13, address="4 New Road")
    said_again = book(day, 15, address="4 new road")

    for response in (named, default, said, said_again):
        assert_vapi_type(ServerMessageResponseToolCalls, response.json())
    answers = [next(iter(results(response).values())) for response in (named, default, said, said_again)]
    assert [answer.get("address") for answer in answers] == [
        "9 Quay, Bristol BS1",
        "1 Mill Lane, Bath BA1",
        "4 New Road",
        "4 New Road",
    ]
    with tenant_a.schema():
        new = Property.objects.get(customer=caller, lines="4 New Road")
        booked = list(Appointment.objects.order_by("starts_at").values_list("service_property_id", flat=True))
    assert booked == [shop.pk, home.pk, new.pk, new.pk]
    assert new.is_default is False


def test_another_customers_address_is_refused_in_words(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    with tenant_a.schema():
        CustomerFactory(phone=CALLER)
        strangers = PropertyFactory()

    response = book(day, 9, property_id=strangers.pk)

    [item] = assert_vapi_type(ServerMessageResponseToolCalls, response.json()).results
    assert item.result is None
    assert "not one of the caller's addresses" in item.error
    with tenant_a.schema():
        assert not Appointment.objects.exists()


def test_the_receptionist_offers_and_books_the_price_books_services(voice_lines, tenant_a):
    day = next_business_day(tenant_a.tenant.zone)
    with tenant_a.schema():
        PriceBookItemFactory(name="Boiler service", duration_minutes=90)
        PriceBookItemFactory(name="Retired visit", duration_minutes=30, active=False)
        PriceBookItemFactory(kind="material", name="Washer", duration_minutes=None)

    prompt = post(message("assistant-request")).json()["assistant"]["model"]["messages"][0]["content"]
    booked = book(day, 9, service="boiler SERVICE", duration_minutes=15)
    too_late = book(day, 16, service="Boiler service")  # 16:00 + 90 minutes is past closing
    asked = {"date": day.isoformat()}
    free = post(
        tool_calls(
            ("by-service", "check_availability", asked | {"service": "Boiler service", "duration_minutes": 15}),
            ("by-length", "check_availability", asked | {"duration_minutes": 90}),
        )
    )

    assert "Services: Boiler service (90 minutes); Leak repair (60 minutes)." in prompt
    assert "Retired" not in prompt and "Washer" not in prompt
    assert_vapi_type(ServerMessageResponseToolCalls, booked.json())
    with tenant_a.schema():
        appointment = Appointment.objects.get()
    assert appointment.title == "Boiler service"
    assert appointment.ends_at - appointment.starts_at == timedelta(minutes=90)  # the service's, not the 15 asked
    assert results(too_late)["book-16"]["booked"] is False
    answers = results(free)
    assert answers["by-service"]["slots"] == answers["by-length"]["slots"]  # the service's 90 minutes
