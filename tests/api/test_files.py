"""Attachments through the API and the real S3-compatible server (boto3 in the app, the
presigned form posted over HTTP as a browser does): the upload's signed conditions, the checks
on completion, downloads, captions, deletion, the quota and isolation between businesses."""

import io
import time

import httpx
import pytest
from django.conf import settings
from django.test import override_settings
from PIL import ExifTags, Image

from shared_apps import storage
from tenant_apps.files import services
from tenant_apps.files.models import Attachment
from tests.factories import CustomerFactory
from tests.isolation import Route, TenantRouteCases, assert_refused
from tests.tenant_apps.files.helpers import (
    PDF_BYTES,
    SCRIPT_BYTES,
    image_bytes,
    jpeg_with_gps,
    post_upload,
)


def customer_of(tenant) -> int:
    with tenant.schema():
        return CustomerFactory().pk


def start(client, customer: int, data: bytes, *, content_type="image/jpeg", filename="leak.jpg", size=None):
    return client.post(
        f"/customers/{customer}/attachments",
        {"filename": filename, "content_type": content_type, "size": size or len(data), "caption": "Before"},
    )


def attach(tenant, data: bytes, *, content_type="image/jpeg", filename="leak.jpg", client=None) -> dict:
    """Upload and complete a file on a new customer of `tenant`; the completed attachment."""
    client = client or tenant.api()
    started = start(client, customer_of(tenant), data, content_type=content_type, filename=filename)
    assert started.status_code == 201, started.content
    assert post_upload(started.json()["upload"], data, filename=filename).status_code == 204
    completed = client.post(f"/attachments/{started.json()['attachment']['id']}/complete")
    assert completed.status_code == 200, completed.content
    return completed.json()


def fetch(url: str) -> bytes:
    answer = httpx.get(url, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.content


class TestAttachmentIsolation(TenantRouteCases):
    routes = [
        Route("GET", "/customers/0/attachments"),
        Route("POST", "/customers/0/attachments", {"filename": "a.jpg", "content_type": "image/jpeg", "size": 10}),
        Route("GET", "/attachments/settings"),
        Route("PATCH", "/attachments/settings", {"quota_bytes": 1}),
    ]
    object_routes = [
        Route("GET", "/attachments/{id}"),
        Route("PATCH", "/attachments/{id}", {"caption": "mine now"}),
        Route("POST", "/attachments/{id}/complete"),
        Route("GET", "/attachments/{id}/download"),
        Route("DELETE", "/attachments/{id}"),
    ]

    def make_object(self, owner):
        return attach(owner, jpeg_with_gps())["id"]


@pytest.mark.parametrize(
    "path", ["/customers/{id}", "/appointments/{id}", "/quotes/{id}", "/invoices/{id}", "/sms/messages/{id}"]
)
def test_another_businesss_row_has_no_attachments_to_list_or_add(tenant_a, tenant_b, path):
    with tenant_a.schema():
        customer = CustomerFactory().pk
    # A customer id of A is not a row of B: B's lists and uploads on it are 404, not empty.
    listed = tenant_b.api().get(path.format(id=customer) + "/attachments")
    assert_refused(listed, 404)


def test_a_photo_is_kept_without_gps_and_with_a_thumbnail(tenant_a):
    photo = jpeg_with_gps(size=(640, 480))
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's premise

    attachment = attach(tenant_a, photo)

    assert attachment | {"status": "ready", "content_type": "image/jpeg", "width": 640, "height": 480} == attachment
    assert attachment["has_thumbnail"] is True
    links = tenant_a.api().get(f"/attachments/{attachment['id']}/download").json()
    kept = Image.open(io.BytesIO(fetch(links["url"])))
    assert kept.getexif().get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert dict(kept.getexif()) == {}
    assert max(Image.open(io.BytesIO(fetch(links["thumbnail_url"]))).size) == 320


def test_a_rotated_photo_is_turned_upright_before_its_exif_goes(tenant_a):
    # Orientation 6: the camera was turned; viewers rotate it 90 degrees. Without EXIF the
    # pixels themselves must be upright.
    attachment = attach(tenant_a, jpeg_with_gps(size=(80, 40), orientation=6))

    assert (attachment["width"], attachment["height"]) == (40, 80)


@pytest.mark.parametrize(
    ("data", "content_type", "filename"),
    [
        (image_bytes("PNG"), "image/png", "plan.png"),
        (image_bytes("WEBP"), "image/webp", "after.webp"),
        (image_bytes("HEIF"), "image/heic", "IMG_0001.HEIC"),
        (PDF_BYTES, "application/pdf", "work-order.pdf"),
    ],
)
def test_each_allowed_type_is_read_from_its_bytes(tenant_a, data, content_type, filename):
    attachment = attach(tenant_a, data, content_type=content_type, filename=filename)

    assert (attachment["content_type"], attachment["filename"]) == (content_type, filename)
    assert attachment["has_thumbnail"] is (content_type != "application/pdf")


def test_a_jpg_that_is_a_script_is_refused_and_discarded(tenant_a):
    client = tenant_a.api()
    started = start(client, customer_of(tenant_a), SCRIPT_BYTES, filename="photo.jpg").json()
    assert post_upload(started["upload"], SCRIPT_BYTES, filename="photo.jpg").status_code == 204

    refused = client.post(f"/attachments/{started['attachment']['id']}/complete")

    assert assert_refused(refused, 400)["message"].startswith("The file is not a JPEG")
    assert_refused(client.get(f"/attachments/{started['attachment']['id']}"), 404)
    with tenant_a.schema():
        assert storage.head(started["upload"]["fields"]["key"].split("/", 2)[2]) is None


def test_bytes_that_claim_to_be_a_jpeg_but_do_not_decode_are_refused(tenant_a):
    client = tenant_a.api()
    fake = b"\xff\xd8\xff\xe0" + SCRIPT_BYTES
    started = start(client, customer_of(tenant_a), fake).json()
    post_upload(started["upload"], fake)

    refused = client.post(f"/attachments/{started['attachment']['id']}/complete")

    assert assert_refused(refused, 400)["message"].startswith("The image cannot be read")


def test_storage_refuses_an_upload_larger_than_declared_or_of_another_type(tenant_a):
    client = tenant_a.api()
    photo = jpeg_with_gps()
    started = start(client, customer_of(tenant_a), photo, size=100).json()

    too_large = post_upload(started["upload"], photo)
    other_type = post_upload(started["upload"], photo[:50], content_type="text/html")
    other_type_field = httpx.post(
        started["upload"]["url"],
        data={**started["upload"]["fields"], "Content-Type": "text/html"},
        files={"file": ("x.html", photo[:50], "text/html")},
    )

    assert (too_large.status_code, "EntityTooLarge" in too_large.text) == (400, True)
    assert other_type.status_code == 204  # the part's own header is not what S3 stores
    assert other_type_field.status_code in (400, 403)


def test_more_than_25_mb_is_refused_when_asked_and_when_completed(tenant_a):
    client = tenant_a.api()
    customer = customer_of(tenant_a)

    asked = start(client, customer, b"", size=settings.ATTACHMENT_MAX_BYTES + 1)
    started = start(client, customer, b"x" * 10).json()
    # Storage that ignored the signed size (as some do): the object is larger than declared.
    with tenant_a.schema():
        key = started["upload"]["fields"]["key"].split("/", 2)[2]
        storage.write(key, b"\xff\xd8\xff" + b"x" * 100, content_type="image/jpeg")
    completed = client.post(f"/attachments/{started['attachment']['id']}/complete")

    assert assert_refused(asked, 400)["message"] == "The file is too large."
    assert assert_refused(completed, 400)["message"] == "The uploaded file is larger than declared or allowed."


def test_completing_before_uploading_is_409_and_can_be_retried(tenant_a):
    client = tenant_a.api()
    started = start(client, customer_of(tenant_a), jpeg_with_gps()).json()
    attachment_id = started["attachment"]["id"]

    early = client.post(f"/attachments/{attachment_id}/complete")
    post_upload(started["upload"], jpeg_with_gps())
    later = client.post(f"/attachments/{attachment_id}/complete")
    again = client.post(f"/attachments/{attachment_id}/complete")

    assert assert_refused(early, 409)["message"] == "Nothing was uploaded for this attachment yet."
    assert (later.status_code, later.json()["status"]) == (200, "ready")
    assert again.json() == later.json()


def test_posting_the_used_form_again_changes_nothing_anyone_reads(tenant_a):
    client = tenant_a.api()
    started = start(client, customer_of(tenant_a), jpeg_with_gps()).json()
    post_upload(started["upload"], jpeg_with_gps())
    done = client.post(f"/attachments/{started['attachment']['id']}/complete").json()
    kept = fetch(client.get(f"/attachments/{done['id']}/download").json()["url"])

    post_upload(started["upload"], jpeg_with_gps())  # the GPS-laden original again

    assert fetch(client.get(f"/attachments/{done['id']}/download").json()["url"]) == kept


# Two seconds: X-Amz-Date is whole seconds, so a URL may lose up to one of them at once.
@override_settings(ATTACHMENT_DOWNLOAD_URL_SECONDS=2)
def test_a_download_url_stops_working_when_it_expires(tenant_a):
    attachment = attach(tenant_a, jpeg_with_gps())
    url = tenant_a.api().get(f"/attachments/{attachment['id']}/download").json()["url"]
    assert httpx.get(url).status_code == 200

    time.sleep(3.1)

    expired = httpx.get(url)
    assert (expired.status_code, "Request has expired" in expired.text) == (403, True)


@override_settings(ATTACHMENT_UPLOAD_URL_SECONDS=1)
def test_an_upload_form_stops_working_when_it_expires(tenant_a):
    started = start(tenant_a.api(), customer_of(tenant_a), jpeg_with_gps()).json()

    time.sleep(2.1)

    assert post_upload(started["upload"], jpeg_with_gps()).status_code == 403


def test_keys_decide_nothing_another_businesss_object_is_out_of_reach(tenant_a, tenant_b):
    attachment = attach(tenant_a, jpeg_with_gps())
    with tenant_a.schema():
        a_key = storage.full_key(Attachment.objects.get(pk=attachment["id"]).key)
    b_form = start(tenant_b.api(), customer_of(tenant_b), jpeg_with_gps()).json()["upload"]

    unsigned = httpx.get(f"{settings.S3_ENDPOINT_URL}/{settings.S3_BUCKET}/{a_key}")
    overwrite = httpx.post(
        b_form["url"], data={**b_form["fields"], "key": a_key}, files={"file": ("x.jpg", jpeg_with_gps(), "image/jpeg")}
    )

    assert unsigned.status_code == 403
    assert overwrite.status_code in (400, 403)
    assert a_key.startswith(f"tenants/{tenant_a.tenant.schema_name}/files/")
    assert b_form["fields"]["key"].startswith(f"tenants/{tenant_b.tenant.schema_name}/uploads/")


def test_a_full_quota_answers_409(tenant_a):
    client = tenant_a.api()
    customer = customer_of(tenant_a)
    attach(tenant_a, jpeg_with_gps())
    used = client.get("/attachments/settings").json()["used_bytes"]
    assert client.patch("/attachments/settings", {"quota_bytes": used + 500}).status_code == 200

    fits = start(client, customer, b"x" * 400)
    full = start(client, customer, b"x" * 200)

    assert fits.status_code == 201
    body = assert_refused(full, 409)
    assert body["errors"] == [
        {"code": "storage_quota_exceeded", "quota_bytes": used + 500, "used_bytes": used + 400, "requested_bytes": 200}
    ]


def test_staff_set_the_quota_no_but_attach_and_delete_their_own(tenant_a):
    staff = tenant_a.api(as_staff=True)
    owners = attach(tenant_a, jpeg_with_gps())
    theirs = attach(tenant_a, jpeg_with_gps(), client=staff)

    assert_refused(staff.patch("/attachments/settings", {"quota_bytes": 1}), 403)
    assert_refused(staff.delete(f"/attachments/{owners['id']}"), 403)
    assert staff.delete(f"/attachments/{theirs['id']}").status_code == 204
    assert tenant_a.api().delete(f"/attachments/{owners['id']}").status_code == 204


def test_captions_list_and_delete(tenant_a):
    client = tenant_a.api()
    attachment = attach(tenant_a, jpeg_with_gps())
    with tenant_a.schema():
        row = Attachment.objects.get(pk=attachment["id"])

    captioned = client.patch(f"/attachments/{attachment['id']}", {"caption": "After the repair"})
    listed = client.get(f"/customers/{row.parent_id}/attachments").json()
    deleted = client.delete(f"/attachments/{attachment['id']}")

    assert captioned.json()["caption"] == "After the repair"
    assert [(item["id"], item["caption"]) for item in listed["items"]] == [(attachment["id"], "After the repair")]
    assert deleted.status_code == 204
    assert client.get(f"/customers/{row.parent_id}/attachments").json()["count"] == 0
    with tenant_a.schema():
        assert storage.head(row.key) is None
        assert storage.head(row.thumbnail_key) is None
        assert storage.head(f"{row.key}.print.jpg") is None


def test_uploads_never_completed_are_swept_after_a_day(tenant_a):
    from datetime import timedelta

    from django.utils import timezone

    client = tenant_a.api()
    started = start(client, customer_of(tenant_a), jpeg_with_gps()).json()
    post_upload(started["upload"], jpeg_with_gps())
    fresh = start(client, customer_of(tenant_a), jpeg_with_gps()).json()

    with tenant_a.schema():
        Attachment.objects.filter(pk=started["attachment"]["id"]).update(
            created_at=timezone.now() - timedelta(hours=25)
        )
        swept = services.sweep_abandoned_uploads()
        upload_key = Attachment.objects.filter(pk=fresh["attachment"]["id"]).values_list("upload_key", flat=True)

        assert swept == 1
        assert storage.head(started["upload"]["fields"]["key"].split("/", 2)[2]) is None
        assert list(upload_key)
    assert_refused(client.get(f"/attachments/{started['attachment']['id']}"), 404)


def test_the_scheduler_sweeps_every_business_every_hour(tenant_a):
    from datetime import timedelta

    from django.utils import timezone

    from tasks import actors
    from tasks.management.commands.run_scheduler import PERIODIC_JOBS

    started = start(tenant_a.api(), customer_of(tenant_a), jpeg_with_gps()).json()
    with tenant_a.schema():
        Attachment.objects.filter(pk=started["attachment"]["id"]).update(created_at=timezone.now() - timedelta(days=2))

    actors.sweep_abandoned_uploads.fn()

    assert (actors.sweep_abandoned_uploads, 3600) in PERIODIC_JOBS
    assert_refused(tenant_a.api().get(f"/attachments/{started['attachment']['id']}"), 404)


def test_chosen_photos_are_printed_on_the_quotes_pdf(tenant_a):
    from pypdf import PdfReader

    from tests.tenant_apps.quotes.factories import draft_quote

    client = tenant_a.api()
    with tenant_a.schema():
        quote = draft_quote(tenant_a.tenant).pk
    photos = []
    for caption in ("Leak under the sink", "Not printed"):
        started = client.post(
            f"/quotes/{quote}/attachments",
            {"filename": "p.jpg", "content_type": "image/jpeg", "size": 50_000, "caption": caption},
        ).json()
        post_upload(started["upload"], jpeg_with_gps(size=(1200, 900)))
        photos.append(client.post(f"/attachments/{started['attachment']['id']}/complete").json())
    without = PdfReader(io.BytesIO(client.get(f"/quotes/{quote}/pdf").content))

    chosen = client.patch(f"/attachments/{photos[0]['id']}", {"on_pdf": True})
    printed = PdfReader(io.BytesIO(client.get(f"/quotes/{quote}/pdf").content))

    assert chosen.json()["on_pdf"] is True
    assert sum(len(page.images) for page in without.pages) == 0
    assert sum(len(page.images) for page in printed.pages) == 1
    text = "".join(page.extract_text() for page in printed.pages)
    assert "Leak under the sink" in text
    assert "Not printed" not in text


def test_only_a_document_photo_can_be_chosen_for_a_pdf(tenant_a):
    on_customer = attach(tenant_a, jpeg_with_gps())

    refused = tenant_a.api().patch(f"/attachments/{on_customer['id']}", {"on_pdf": True})

    assert assert_refused(refused, 400)["message"] == "Only a photo of a quote or invoice can be printed on its PDF."


def test_deleting_a_customer_or_a_draft_deletes_their_attachments(tenant_a, django_capture_on_commit_callbacks):
    from tests.tenant_apps.quotes.factories import draft_quote

    client = tenant_a.api()
    on_customer = attach(tenant_a, jpeg_with_gps())
    with tenant_a.schema():
        customer = Attachment.objects.get(pk=on_customer["id"]).parent_id
        quote = draft_quote(tenant_a.tenant).pk
    started = client.post(
        f"/quotes/{quote}/attachments", {"filename": "q.pdf", "content_type": "application/pdf", "size": 500}
    ).json()
    post_upload(started["upload"], PDF_BYTES)
    on_quote = client.post(f"/attachments/{started['attachment']['id']}/complete").json()
    with tenant_a.schema():
        keys = list(Attachment.objects.values_list("key", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/customers/{customer}").status_code == 204
        assert client.delete(f"/quotes/{quote}").status_code == 204

    assert_refused(client.get(f"/attachments/{on_customer['id']}"), 404)
    assert_refused(client.get(f"/attachments/{on_quote['id']}"), 404)
    with tenant_a.schema():
        assert [storage.head(key) for key in keys] == [None, None]
