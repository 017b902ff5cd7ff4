"""One URLconf for the API host and tenant hosts; the tenant comes from the middleware."""

from django.contrib import admin
from django.urls import path

from api.main import api

handler400 = "api.errors.bad_request"
handler403 = "api.errors.permission_denied"
handler404 = "api.errors.page_not_found"
handler500 = "api.errors.server_error"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
