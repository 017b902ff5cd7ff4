"""The rules for customers: contact details are normalised on the way in (E.164 phones in the
business's country), updates are optimistic, and a customer that documents refer to is
archived rather than deleted."""

from typing import Any

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F, ProtectedError
from django.utils import timezone

from shared_apps.errors import Conflict, StaleVersion, ValidationFailed
from shared_apps.events.services import emit
from shared_apps.tenants.services import validate_contact_address, validate_country
from tenant_apps.customers import queries
from tenant_apps.customers.models import Customer, Property
from tenant_apps.files.services import delete_attachments_of

EDITABLE_FIELDS = ("name", "email", "phone", "address", "notes", "sms_opt_out")


def normalize_phone(*, phone: str, region: str) -> str:
    """E.164 for `phone`, read as a national number of `region` (ISO 3166) unless it starts
    with "+". Blank stays blank; anything that is not a valid number is refused."""
    phone = phone.strip()
    if not phone:
        return ""
    try:
        parsed = phonenumbers.parse(phone, region.upper())
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ValidationFailed(
            "Invalid phone number.",
            details=[{"field": "phone", "message": f"{phone!r} is not a valid phone number for region {region}."}],
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class RecipientOptedOut(Conflict):
    """The number asked not to be contacted (409): no text and no call goes to it."""

    code = "recipient_opted_out"

    def __init__(self) -> None:
        super().__init__("This number has opted out of contact (it replied STOP).")


def require_contactable(*, phone: str) -> None:
    """Refuse (RecipientOptedOut) a text or call to an E.164 number that any customer having
    it opted out with: the person behind the number said STOP, whichever record we hold."""
    if queries.is_phone_opted_out(phone=phone):
        raise RecipientOptedOut()


def resolve_recipient(
    *, customer_id: int | None, to: str | None, region: str, invalid_title: str
) -> tuple[Customer | None, str]:
    """Whom a text or call goes to: exactly one of `customer_id` (their phone) and `to` (a
    number read in `region`, with the customer who has it, if any). The customer and the
    E.164 number; a 400 titled `invalid_title` names the field at fault."""

    def invalid(field: str, message: str) -> ValidationFailed:
        return ValidationFailed(invalid_title, details=[{"field": field, "message": message}])

    if (customer_id is None) == (not to):
        raise invalid("to", "Give exactly one of customer_id and to.")
    if customer_id is not None:
        customer = queries.get_customer(customer_id=customer_id)
        if not customer.phone:
            raise invalid("customer_id", "This customer has no phone number.")
        return customer, customer.phone
    number = normalize_phone(phone=to or "", region=region)
    return queries.find_customer_by_phone(phone=number), number


def _clean(changes: dict[str, Any], *, region: str) -> dict[str, Any]:
    cleaned = {field: value for field, value in changes.items() if field in EDITABLE_FIELDS}
    if "name" in cleaned:
        cleaned["name"] = str(cleaned["name"]).strip()
        if not cleaned["name"]:
            raise ValidationFailed("Invalid customer.", details=[{"field": "name", "message": "Must not be blank."}])
    if "email" in cleaned:
        cleaned["email"] = (cleaned["email"] or "").strip().lower()
        try:
            if cleaned["email"]:
                validate_email(cleaned["email"])
        except ValidationError:
            raise ValidationFailed(
                "Invalid customer.", details=[{"field": "email", "message": "Not a valid email address."}]
            ) from None
    if "phone" in cleaned:
        cleaned["phone"] = normalize_phone(phone=cleaned["phone"] or "", region=region)
    for field in ("address", "notes"):
        if field in cleaned:
            cleaned[field] = (cleaned[field] or "").strip()
    return cleaned


def create_customer(*, region: str, data: dict[str, Any]) -> Customer:
    """A new customer; `region` is the business's country, for national phone numbers."""
    with transaction.atomic(savepoint=False):  # the row and its event commit together
        customer = Customer.objects.create(**_clean(data, region=region))
        emit("customer.created", customer_id=customer.pk, name=customer.name)
    return customer


def update_customer(*, customer_id: int, region: str, changes: dict[str, Any], version: int) -> Customer:
    """Apply `changes`, refusing (StaleVersion) if someone saved since `version` was read."""
    cleaned = _clean(changes, region=region)
    with transaction.atomic():
        customer = queries.get_customer_for_update(customer_id=customer_id)
        if version != customer.version:
            raise StaleVersion(current_version=customer.version)
        if not cleaned:
            return customer
        for field, value in cleaned.items():
            setattr(customer, field, value)
        customer.version += 1
        customer.save(update_fields=[*cleaned, "version", "updated_at"])
        emit("customer.updated", customer_id=customer.pk, name=customer.name, changed_fields=sorted(cleaned))
    return customer


def delete_customer(*, customer_id: int) -> bool:
    """Delete the customer, or archive it when appointments, quotes or invoices refer to it
    (their foreign keys PROTECT it). Returns True when archived, False when deleted."""
    with transaction.atomic():
        customer = queries.get_customer_for_update(customer_id=customer_id)
        try:
            with transaction.atomic():
                customer.delete()
                delete_attachments_of(parent_type="customer", parent_id=customer_id)
        except ProtectedError:
            if customer.archived_at is None:
                customer.archived_at = timezone.now()
                customer.version += 1
                customer.save(update_fields=["archived_at", "version", "updated_at"])
                emit("customer.archived", customer_id=customer.pk, name=customer.name)
            return True
    return False


def set_sms_opt_out_by_phone(*, phone: str, opted_out: bool) -> int:
    """Opt every customer with this E.164 number out of (or back into) texts, as the number's
    owner asked by keyword. Bumps `version` so no stale edit undoes it. Returns how many changed."""
    if not phone:
        return 0
    return (
        Customer.objects.filter(phone=phone)
        .exclude(sms_opt_out=opted_out)
        .update(sms_opt_out=opted_out, version=F("version") + 1, updated_at=timezone.now())
    )


PROPERTY_FIELDS = ("label", "lines", "city", "region", "postal_code", "country", "access_notes", "is_default")


def _clean_property(changes: dict[str, Any]) -> dict[str, Any]:
    cleaned = {field: value for field, value in changes.items() if field in PROPERTY_FIELDS}
    for field in ("label", "city", "region", "postal_code", "access_notes"):
        if field in cleaned:
            cleaned[field] = (cleaned[field] or "").strip()
    if "lines" in cleaned:
        cleaned["lines"] = validate_contact_address(cleaned["lines"] or "", field="lines")
        if not cleaned["lines"]:
            raise ValidationFailed("Invalid address.", details=[{"field": "lines", "message": "Must not be blank."}])
    if cleaned.get("country"):
        cleaned["country"] = validate_country(cleaned["country"].strip())
    elif "country" in cleaned:
        cleaned["country"] = ""
    return cleaned


def _make_sole_default(place: Property) -> None:
    """`place` becomes its customer's default (the other one stops being it first, for the
    one-default constraint). The caller holds the customer's lock."""
    Property.objects.filter(customer_id=place.customer_id, is_default=True).exclude(pk=place.pk).update(
        is_default=False, version=F("version") + 1, updated_at=timezone.now()
    )


def create_property(*, customer_id: int, data: dict[str, Any]) -> Property:
    """A new property of the customer; a customer's first property is its default, and a new
    one asked to be the default takes over from the old one."""
    cleaned = _clean_property(data)
    with transaction.atomic():
        customer = queries.get_customer_for_update(customer_id=customer_id)
        first = not Property.objects.filter(customer=customer).exists()
        place = Property(customer=customer, **cleaned)
        place.is_default = first or bool(cleaned.get("is_default"))
        if place.is_default:
            _make_sole_default(place)
        place.save()
    return place


def update_property(*, customer_id: int, property_id: int, changes: dict[str, Any], version: int) -> Property:
    """Apply `changes` to a property seen at `version` (StaleVersion otherwise). Making it the
    default takes that from the old one; the default stops being it only by another taking over."""
    cleaned = _clean_property(changes)
    with transaction.atomic():
        queries.get_customer_for_update(customer_id=customer_id)  # one default change at a time
        place = queries.get_property(customer_id=customer_id, property_id=property_id)
        if version != place.version:
            raise StaleVersion(current_version=place.version)
        if cleaned.get("is_default") is False and place.is_default:
            raise ValidationFailed(
                "Invalid address.",
                details=[{"field": "is_default", "message": "Make another property the default instead."}],
            )
        if not cleaned:
            return place
        if cleaned.get("is_default"):
            _make_sole_default(place)
        for field, value in cleaned.items():
            setattr(place, field, value)
        place.version += 1
        place.save(update_fields=[*cleaned, "version", "updated_at"])
    return place


class PropertyInUse(Conflict):
    """Appointments or documents name the property (409): it stays, as they were written."""

    code = "property_in_use"

    def __init__(self) -> None:
        super().__init__("Appointments, quotes or invoices name this property; it cannot be deleted.")


def delete_property(*, customer_id: int, property_id: int) -> None:
    """Delete a property no appointment or document names (PropertyInUse otherwise). When it
    was the default, the oldest remaining one becomes the default."""
    with transaction.atomic():
        queries.get_customer_for_update(customer_id=customer_id)
        place = queries.get_property(customer_id=customer_id, property_id=property_id)
        try:
            with transaction.atomic():
                place.delete()
        except ProtectedError:
            raise PropertyInUse() from None
        if place.is_default:
            successor = Property.objects.filter(customer_id=customer_id).order_by("created_at", "id").first()
            if successor is not None:
                successor.is_default = True
                successor.version += 1
                successor.save(update_fields=["is_default", "version", "updated_at"])


def require_customers_property(*, customer_id: int, property_id: int | None) -> Property | None:
    """The property an appointment or document names, which must be one of its customer's
    (400 naming `property_id` otherwise); None names none."""
    if property_id is None:
        return None
    place = Property.objects.filter(pk=property_id, customer_id=customer_id).first()
    if place is None:
        raise ValidationFailed(
            "Invalid property.",
            code="property_not_of_customer",
            details=[{"field": "property_id", "message": "Not a property of this customer."}],
        )
    return place
