"""Booking a visit from the customer's link in Chromium on a phone-sized window, without
help from JavaScript (the pages have none): the hub, the services, a day's free times, the
booking. Screenshots of each page are kept (tests/browser.py says where)."""

from datetime import datetime

from selenium.webdriver.common.by import By
from selenium.webdriver.support.wait import WebDriverWait

from tenant_apps.bookings.models import BookingRequest
from tests.browser import PHONE_WIDTH, live_app, phone  # noqa: F401 - fixtures
from tests.factories import PriceBookItemFactory, PropertyFactory
from tests.portal import make_link

ALL_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def test_a_customer_books_a_slot_on_a_phone(committed_tenant, live_app, phone):  # noqa: F811 - fixtures
    committed_tenant.store_settings(business_hours={day: [["08:00", "18:00"]] for day in ALL_DAYS})
    link = make_link(committed_tenant)
    with committed_tenant.schema():
        PriceBookItemFactory(name="Boiler service", duration_minutes=60, description="Yearly check and clean")
        PropertyFactory(customer=link.customer, lines="12 High Street", is_default=True)

    phone.open(link.url)
    phone.screenshot("hub")
    phone.click_text("Book a visit")
    phone.screenshot("services")
    phone.click_text("Boiler service")
    phone.screenshot("free-times")
    assert phone.page_width() <= PHONE_WIDTH
    chosen = phone.find("input[name=starts_at]").get_attribute("value")
    phone.find("label[for=slot-1]").click()
    phone.find("#notes").send_keys("The side gate is open")
    phone.screenshot("time-chosen")
    phone.find("#book").click()
    WebDriverWait(phone.driver, 30).until(lambda driver: driver.find_elements(By.CSS_SELECTOR, "#booking-status"))
    phone.screenshot("booked")

    assert "You are booked for" in phone.find("#booking-status").text
    assert "12 High Street" in phone.text
    assert phone.page_width() <= PHONE_WIDTH
    with committed_tenant.schema():
        booking = BookingRequest.objects.select_related("appointment").get()
        assert booking.customer_id == link.customer.pk
        assert booking.starts_at == datetime.fromisoformat(chosen)
        assert booking.appointment.notes == "The side gate is open"
    phone.click_text("Back to your page")
    phone.screenshot("hub-after")
    assert "Your requests" in phone.text
