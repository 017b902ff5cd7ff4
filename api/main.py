"""The v1 API: one NinjaAPI that adds every module's router."""

from api import (
    accounts,
    appointments,
    audit,
    bookings,
    customers,
    files,
    integrations,
    invitations,
    invoices,
    operations,
    payments,
    platform,
    portal,
    portal_requests,
    pricebook,
    quotes,
    search,
    series,
    sms,
    tenants,
    time_off,
    voice,
    work_requests,
)
from api.errors import install_exception_handlers
from api.openapi import ContractNinjaAPI

api = ContractNinjaAPI(
    title="Service business API",
    version="1",
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install_exception_handlers(api)

api.add_router("/", operations.router)
api.add_router("/auth", accounts.router)
api.add_router("/users", accounts.users_router)
api.add_router("/invitations", invitations.router)
api.add_router("/tenants", tenants.router)
api.add_router("/platform", platform.router)
api.add_router("/audit-events", audit.router)
api.add_router("/customers", customers.router)
api.add_router("/price-book", pricebook.router)
api.add_router("/appointments", appointments.router)
api.add_router("/appointment-series", series.router)
api.add_router("/booking-requests", bookings.router)
api.add_router("/work-requests", work_requests.router)
api.add_router("/time-off", time_off.time_off_router)
api.add_router("/closed-days", time_off.closed_days_router)
api.add_router("/quotes", quotes.router)
api.add_router("/invoices", invoices.router)
api.add_router("/sms", sms.router)
api.add_router("/voice", voice.router)
api.add_router("/payments", payments.router)
api.add_router("/search", search.router)
api.add_router("/", files.router)
api.add_router("/webhooks", integrations.router)
api.add_router("/customer-links", portal.router)
api.add_router("/portal", portal.public_router)
api.add_router("/portal", portal_requests.router)
