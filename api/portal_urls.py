"""The customer's pages below the hub, `c/<token>/...` (config/urls.py): each view takes the
token first and opens the link with `api.portal_pages.portal_page`."""

from django.urls import include, path

from api import portal_pages

urlpatterns = [
    path("quotes/<int:quote_id>", portal_pages.quote_page, name="portal-quote"),
    path("quotes/<int:quote_id>/approve", portal_pages.approve_quote, name="portal-quote-approve"),
    path("quotes/<int:quote_id>/decline", portal_pages.decline_quote, name="portal-quote-decline"),
    path("quotes/<int:quote_id>/options", portal_pages.choose_quote_options, name="portal-quote-options"),
    path("quotes/<int:quote_id>/pdf", portal_pages.quote_pdf, name="portal-quote-pdf"),
    path("invoices/<int:invoice_id>", portal_pages.invoice_page, name="portal-invoice"),
    path("invoices/<int:invoice_id>/pdf", portal_pages.invoice_pdf, name="portal-invoice-pdf"),
    # Booking a visit and asking for work.
    path("", include("api.request_urls")),
]
