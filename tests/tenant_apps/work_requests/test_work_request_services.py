"""Work requests' rules: where the work is, photos kept by the files' rules (all or none),
converting and closing, the customer's timeline and the staff's email."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import override_settings
from PIL import ExifTags, Image

from shared_apps import storage
from shared_apps.errors import InvalidTransition, ValidationFailed
from shared_apps.outbox.models import OutboxMessage
from tenant_apps.appointments.services import DoubleBooking, create_appointment
from tenant_apps.customers.history import customer_history
from tenant_apps.customers.models import Property
from tenant_apps.files.models import Attachment
from tenant_apps.notifications.staff_alerts import STAFF_ALERT_ACTOR, email_staff_alert
from tenant_apps.quotes.models import Quote
from tenant_apps.work_requests import services
from tenant_apps.work_requests.models import WorkRequest
from tests.events import deliver_events, emitted
from tests.factories import CustomerFactory, PropertyFactory
from tests.tenant_apps.files.helpers import PDF_BYTES, SCRIPT_BYTES, jpeg_with_gps

STARTS = datetime(2027, 6, 7, 14, tzinfo=UTC)


@pytest.fixture
def customer(tenant_a):
    with tenant_a.schema():
        yield CustomerFactory(name="Dana Reyes")


def create(customer, **fields):
    return services.create_work_request(customer_id=customer.pk, **{"description": "The tap drips", **fields})


def test_an_address_typed_becomes_the_customers_property_and_is_reused(customer):
    first = create(customer, address="12 High Street")
    second = create(customer, address="12 high street")

    assert first.service_property_id == second.service_property_id
    assert Property.objects.get(pk=first.service_property_id).customer_id == customer.pk


def test_without_a_place_the_default_property_is_used(customer):
    default = PropertyFactory(customer=customer, is_default=True)

    assert create(customer).service_property_id == default.pk


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"description": "  "}, "description", id="blank description"),
        pytest.param({"description": "x" * 2001}, "description", id="long description"),
        pytest.param({"preferred_times": "x" * 501}, "preferred_times", id="long preferred times"),
        pytest.param({"photos": [("a.pdf", PDF_BYTES)] * 6}, "photos", id="too many photos"),
    ],
)
def test_bad_input_is_400_naming_the_field(customer, fields, field):
    with pytest.raises(ValidationFailed) as refused:
        create(customer, **fields)

    assert refused.value.details[0]["field"] == field
    assert not WorkRequest.objects.exists()


def test_another_customers_property_or_both_places_are_refused(customer):
    others = PropertyFactory()
    mine = PropertyFactory(customer=customer)

    with pytest.raises(ValidationFailed):
        create(customer, property_id=others.pk)
    with pytest.raises(ValidationFailed):
        create(customer, property_id=mine.pk, address="Elsewhere 1")


def test_photos_are_kept_without_exif(tenant_a, customer):
    request = create(customer, photos=[("tap.jpg", jpeg_with_gps(size=(320, 240))), ("plan.pdf", PDF_BYTES)])

    photos = Attachment.objects.filter(parent_type="work_request", parent_id=request.pk).order_by("id")
    assert [(photo.content_type, photo.status) for photo in photos] == [
        ("image/jpeg", "ready"),
        ("application/pdf", "ready"),
    ]
    kept = Image.open(io.BytesIO(storage.read(photos[0].key)))
    assert kept.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert emitted("work_request.created")[0].payload.photo_count == 2


def test_one_refused_photo_refuses_the_request_and_keeps_no_file(customer):
    stored_before = list(storage.list_objects(prefix="files/"))

    with pytest.raises(ValidationFailed) as refused:
        create(customer, photos=[("tap.jpg", jpeg_with_gps()), ("tap2.jpg", SCRIPT_BYTES)])

    assert (refused.value.code, refused.value.details[0]["field"]) == ("file_type_not_allowed", "photos")
    assert not WorkRequest.objects.exists()
    assert not Attachment.objects.exists()
    assert list(storage.list_objects(prefix="files/")) == stored_before


@override_settings(ATTACHMENT_MAX_BYTES=1000)
def test_a_photo_over_the_size_limit_is_refused_before_it_is_read(customer):
    with pytest.raises(ValidationFailed) as refused:
        create(customer, photos=[("big.pdf", PDF_BYTES + b" " * 1000)])

    assert refused.value.code == "file_too_large"


def test_an_archived_customer_cannot_ask(customer):
    customer.archived_at = STARTS
    customer.save(update_fields=["archived_at"])

    with pytest.raises(ValidationFailed):
        create(customer)


def test_it_lands_on_the_customers_timeline(customer):
    request = create(customer, preferred_times="Mornings")

    entries, _ = customer_history(customer_id=customer.pk, limit=10)

    [entry] = [entry for entry in entries if entry.kind == "work_request"]
    assert (entry.id, entry.status, entry.data["preferred_times"]) == (request.pk, "NEW", "Mornings")


def test_the_owners_and_admins_are_mailed(tenant_a, customer):
    create(customer, address="12 High Street", preferred_times="Mornings")

    deliver_events(schema_name=tenant_a.tenant.schema_name)

    [job] = pending_staff_alerts()
    assert email_staff_alert(**job) == 1
    [sent] = mail.outbox
    assert sent.to == [tenant_a.owner.email]
    assert "Dana Reyes" in sent.subject
    assert "12 High Street" in sent.body
    assert "Mornings" in sent.body


def pending_staff_alerts() -> list[dict]:
    rows = OutboxMessage.objects.filter(actor_name=STAFF_ALERT_ACTOR, published_at__isnull=True)
    return [row.kwargs for row in rows]


class TestConverting:
    def test_into_an_appointment_at_its_property(self, tenant_a, customer):
        request = create(customer, address="12 High Street", preferred_times="Mornings")

        converted = services.convert_work_request(
            tenant=tenant_a.tenant,
            work_request_id=request.pk,
            to="appointment",
            decided_by_id=tenant_a.owner.pk,
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=1),
            staff_id=tenant_a.staff.pk,
        )

        appointment = converted.appointment
        assert converted.status == "CONVERTED"
        assert (appointment.title, appointment.service_property_id) == ("The tap drips", request.service_property_id)
        assert appointment.notes == "The tap drips\nMornings"
        assert emitted("work_request.converted")[0].payload.appointment_id == appointment.pk

    def test_into_a_draft_quote(self, tenant_a, customer):
        request = create(customer)

        converted = services.convert_work_request(
            tenant=tenant_a.tenant, work_request_id=request.pk, to="quote", decided_by_id=tenant_a.owner.pk
        )

        assert converted.quote.status == Quote.Status.DRAFT
        assert converted.quote.customer_id == customer.pk

    def test_a_clash_leaves_it_new(self, tenant_a, customer):
        request = create(customer)
        create_appointment(
            tenant=tenant_a.tenant,
            customer_id=customer.pk,
            title="Other",
            starts_at=STARTS,
            ends_at=STARTS + timedelta(hours=1),
            staff_id=tenant_a.staff.pk,
        )

        with pytest.raises(DoubleBooking):
            services.convert_work_request(
                tenant=tenant_a.tenant,
                work_request_id=request.pk,
                to="appointment",
                decided_by_id=tenant_a.owner.pk,
                starts_at=STARTS,
                ends_at=STARTS + timedelta(hours=1),
                staff_id=tenant_a.staff.pk,
            )
        request.refresh_from_db()
        assert request.status == "NEW"

    def test_an_appointment_needs_its_times(self, tenant_a, customer):
        with pytest.raises(ValidationFailed):
            services.convert_work_request(
                tenant=tenant_a.tenant,
                work_request_id=create(customer).pk,
                to="appointment",
                decided_by_id=tenant_a.owner.pk,
            )


def test_closing_keeps_the_reason_and_ends_it(tenant_a, customer):
    request = create(customer)

    closed = services.close_work_request(
        work_request_id=request.pk, decided_by_id=tenant_a.owner.pk, reason=" Not ours "
    )

    assert (closed.status, closed.close_reason) == ("CLOSED", "Not ours")
    with pytest.raises(InvalidTransition):
        services.convert_work_request(
            tenant=tenant_a.tenant, work_request_id=request.pk, to="quote", decided_by_id=tenant_a.owner.pk
        )
