"""Customer links in tests: made through the service as staff would, and followed through every
middleware on a host, as a customer's browser or a front end would."""

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.test import Client

from tenant_apps.customers.models import Customer
from tenant_apps.portal import services
from tests.client import ApiClient
from tests.factories import CustomerFactory


@dataclass(frozen=True)
class Link:
    """A customer's link: the customer, the URL staff got, and its parts."""

    customer: Customer
    link_id: int
    url: str

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def token(self) -> str:
        return self.path.rsplit("/", 1)[1]

    def api(self, *, host: str | None = None) -> ApiClient:
        """A client of the public JSON routes, with no staff token, on the link's host."""
        return ApiClient(host=host or self.host)

    def json_path(self, suffix: str = "") -> str:
        return f"/portal/{self.token}{suffix}"


def make_link(test_tenant: Any, *, customer: Customer | None = None, **options: Any) -> Link:
    """A link made by the tenant's owner for `customer` (a new one by default)."""
    with test_tenant.schema():
        customer = customer or CustomerFactory()
        issued = services.create_customer_link(
            tenant=test_tenant.tenant, customer_id=customer.pk, created_by=test_tenant.owner.pk, **options
        )
    return Link(customer=customer, link_id=issued.link.pk, url=issued.url)


def page(path: str, *, host: str, method: str = "GET", data: dict[str, Any] | None = None, **headers: str):
    """A customer page as a browser asks for it (no CSRF enforcement: the browser tests cover it)."""
    client = Client(raise_request_exception=False)
    extra = {"HTTP_HOST": host, **{f"HTTP_{name.upper()}": value for name, value in headers.items()}}
    if method == "GET":
        return client.get(path, data=data, **extra)
    return client.post(path, data=data or {}, **extra)
