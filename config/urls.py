"""One URLconf for the API host and tenant hosts; the tenant comes from the middleware."""

from django.contrib import admin
from django.urls import include, path

from api import pay_pages, portal_pages
from api.main import api

handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"

urlpatterns = [
    # A long pay link made before short links (HTML pages, not the API's JSON): before api.urls.
    path("api/v1/payments/pay/<str:token>", pay_pages.follow_legacy_pay_link),
    path("api/v1/", api.urls),
    path("p/<str:token>", pay_pages.follow_pay_link, name="pay-link"),
    path("p/<str:token>/paid", pay_pages.paid),
    path("p/<str:token>/cancelled", pay_pages.cancelled),
    # A customer's hub and its pages (docs/portal.md).
    path("c/<str:token>", portal_pages.hub_page, name="portal-hub"),
    path("c/<str:token>/", include("api.portal_urls")),
    path("admin/", admin.site.urls),
]
