"""The customer's booking and work-request pages below the hub, `c/<token>/...` (included by
api/portal_urls.py); api/request_pages.py has the views."""

from django.urls import path, register_converter

from api import request_pages


class RowIdConverter:
    """A row id that PostgreSQL's bigint can hold: a longer number names no page (404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(RowIdConverter, "rowid")

urlpatterns = [
    path("book", request_pages.book_start, name="portal-book"),
    path("book/<rowid:service_id>", request_pages.book_service, name="portal-book-service"),
    path("bookings/<rowid:booking_request_id>", request_pages.booking_page, name="portal-booking"),
    path("work-request", request_pages.work_request_form, name="portal-work-request"),
    path("work-requests/<rowid:work_request_id>", request_pages.work_request_page, name="portal-work-request-page"),
]
