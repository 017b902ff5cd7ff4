"""The real URLconf plus a bare Django Ninja endpoint: the same appointments rows and response
schema with none of our stack (no tenant resolution, token, membership check or count)."""

import os

from django.db import connection
from django.urls import path
from ninja import NinjaAPI

from api.appointments import AppointmentOut
from config.urls import urlpatterns as api_urlpatterns
from tenant_apps.appointments.models import Appointment

bare_api = NinjaAPI(urls_namespace="bench-bare", docs_url=None, openapi_url=None)


@bare_api.get("/appointments", response=list[AppointmentOut])
def bare_appointments(request):
    connection.set_schema(os.environ["BENCH_SCHEMA"])
    return list(Appointment.objects.order_by("starts_at", "id")[:50])


urlpatterns = [*api_urlpatterns, path("bench/bare/", bare_api.urls)]
