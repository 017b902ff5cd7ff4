"""Reading customers. Every read of the tenant's customers goes through here."""

import re

from django.db.models import Q, QuerySet

from shared_apps.errors import NotFound
from tenant_apps.customers.models import Customer, Property


def list_customers(*, search: str = "", include_archived: bool = False) -> QuerySet[Customer]:
    """Newest first. `search` is a case-insensitive substring of the name or email, or a run of
    digits inside the (E.164) phone number; each is served by a trigram index."""
    customers = Customer.objects.all()
    if not include_archived:
        customers = customers.filter(archived_at__isnull=True)
    search = search.strip()
    if search:
        matches = Q(name__icontains=search) | Q(email__icontains=search)
        digits = re.sub(r"\D", "", search)
        # "(555) 010-4477" should find +15550104477: compare digits only, and only when the
        # search is mostly a number (a name with one digit in it is not a phone search).
        if len(digits) >= 3 and len(digits) * 2 >= len(re.sub(r"\s", "", search)):
            matches |= Q(phone__contains=digits)
        customers = customers.filter(matches)
    return customers.order_by("-created_at", "-id")


def get_customer(*, customer_id: int) -> Customer:
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


def get_customer_for_update(*, customer_id: int) -> Customer:
    """Lock the customer row for the caller's transaction."""
    customer = Customer.objects.select_for_update(no_key=True, of=("self",)).filter(pk=customer_id).first()
    if customer is None:
        raise NotFound("Customer not found.")
    return customer


def find_customer_by_phone(*, phone: str) -> Customer | None:
    """The customer with this exact E.164 number (inbound texts and calls): an active one
    before an archived one, the oldest first; None for an unknown number."""
    if not phone:
        return None
    return Customer.objects.filter(phone=phone).order_by("archived_at", "created_at", "id").first()


def is_phone_opted_out(*, phone: str) -> bool:
    """Whether a customer with this E.164 number asked not to be texted."""
    return Customer.objects.filter(phone=phone, sms_opt_out=True).exists()


def list_properties(*, customer_id: int) -> QuerySet[Property]:
    """A customer's properties, the default first, then oldest first; 404 for an unknown customer."""
    return customer_properties(customer_id=get_customer(customer_id=customer_id).pk)


def customer_properties(*, customer_id: int) -> QuerySet[Property]:
    """The properties of a customer known to exist, the default first, then oldest first."""
    return Property.objects.filter(customer_id=customer_id).order_by("-is_default", "created_at", "id")


def get_property(*, customer_id: int, property_id: int) -> Property:
    """One property of the customer; another customer's (or business's) is absent."""
    found = Property.objects.filter(customer_id=customer_id, pk=property_id).first()
    if found is None:
        raise NotFound("Property not found.")
    return found
