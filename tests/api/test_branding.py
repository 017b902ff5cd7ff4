"""The business's brand: colour, logo and contact block on its documents and emails."""

import io
import socket
from datetime import timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import boto3
import pytest
from botocore.config import Config
from django.conf import settings
from django.utils import timezone
from PIL import Image
from pypdf import PdfReader

from shared_apps import storage
from shared_apps.tenants import branding, services
from shared_apps.tenants.branding import MAX_LOGO_BYTES
from shared_apps.tenants.models import TenantLogo
from tenant_apps.notifications import document_email
from tests.api.test_invitations import _free_port, smtp_inbox  # noqa: F401 - the real SMTP sink fixture
from tests.api.test_query_baselines import count
from tests.factories import CustomerFactory
from tests.isolation import Route, TenantRouteCases, assert_refused
from tests.tenant_apps.quotes.factories import sent_quote


def image(kind: str = "PNG", size: tuple[int, int] = (40, 20), color: str = "#1a73e8") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, kind)
    return out.getvalue()


class TestLogoIsolation(TenantRouteCases):
    routes = [
        Route("GET", "/tenants/me/logo"),
        Route("PUT", "/tenants/me/logo", image()),
        Route("DELETE", "/tenants/me/logo"),
    ]


def test_logo_upload_read_and_removal_at_the_baselines(tenant_a, tenant_b):
    png = image()

    stored = count("PUT /tenants/me/logo", tenant_a.api(), "PUT", "/tenants/me/logo", png)
    served = count("GET /tenants/me/logo", tenant_a.api(), "GET", "/tenants/me/logo")
    others = tenant_b.api().get("/tenants/me/logo")
    removed = count("DELETE /tenants/me/logo", tenant_a.api(), "DELETE", "/tenants/me/logo")

    assert stored.status_code == 200, stored.content
    assert (stored.json()["content_type"], stored.json()["size"]) == ("image/png", len(png))
    assert (served.status_code, served["Content-Type"], served.content) == (200, "image/png", png)
    assert_refused(others, 404)  # another business's logo is its own
    assert removed.status_code == 204
    assert_refused(tenant_a.api().get("/tenants/me/logo"), 404)


def test_a_jpeg_is_told_by_its_bytes(tenant_a):
    stored = tenant_a.api().put("/tenants/me/logo", image("JPEG"))

    assert stored.json()["content_type"] == "image/jpeg"


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"GIF89a" + b"\x00" * 100, "logo_not_an_image"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "logo_not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"broken" * 10, "logo_not_an_image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_LOGO_BYTES, "logo_too_large"),
        (image(size=(2001, 10)), "logo_too_large"),
        (b"", "logo_not_an_image"),
    ],
)
def test_anything_but_a_small_png_or_jpeg_is_400(tenant_a, content, code):
    refused = assert_refused(tenant_a.api().put("/tenants/me/logo", content), 400)

    assert refused["errors"][0]["code"] == code
    assert refused["errors"][0]["field"] == "logo"


def test_staff_may_see_but_not_change_the_logo(tenant_a):
    tenant_a.api().put("/tenants/me/logo", image())

    assert tenant_a.api(as_staff=True).get("/tenants/me/logo").status_code == 200
    assert_refused(tenant_a.api(as_staff=True).put("/tenants/me/logo", image()), 403)
    assert_refused(tenant_a.api(as_staff=True).delete("/tenants/me/logo"), 403)


@pytest.mark.parametrize(("given", "stored"), [("#1a73e8", "#1A73E8"), ("#abc", "#AABBCC"), ("", "")])
def test_brand_color_is_a_hex_colour(tenant_a, given, stored):
    changed = tenant_a.api().patch("/tenants/me", {"brand_color": given})

    assert changed.json()["brand_color"] == stored


@pytest.mark.parametrize("bad", ["blue", "#12345", "1A73E8", "#GGGGGG"])
def test_other_colours_are_400(tenant_a, bad):
    assert assert_refused(tenant_a.api().patch("/tenants/me", {"brand_color": bad}), 400)["errors"][0]["field"] == (
        "brand_color"
    )


def test_the_pdf_carries_the_logo_and_the_contact_block(tenant_a):
    tenant_a.api().patch(
        "/tenants/me", {"brand_color": "#1A73E8", "address": "1 Quay Street\nBristol", "phone": "+442079460018"}
    )
    tenant_a.api().put("/tenants/me/logo", image())
    with tenant_a.schema():
        customer_id = CustomerFactory().pk
    quote = (
        tenant_a.api()
        .post(
            "/quotes",
            {"customer_id": customer_id, "items": [{"description": "Work", "quantity": "1", "unit_price": 100}]},
        )
        .json()
    )

    pdf = PdfReader(io.BytesIO(tenant_a.api().get(f"/quotes/{quote['id']}/pdf").content))
    text = pdf.pages[0].extract_text()

    assert len(pdf.pages[0].images) == 1
    assert "1 Quay Street" in text
    assert "+442079460018" in text


def test_document_emails_are_signed_with_the_contact_block_and_branded(tenant_a, smtp_inbox):  # noqa: F811
    tenant_a.api().patch(
        "/tenants/me",
        {"brand_color": "#1A73E8", "address": "1 Quay Street\nBristol", "email": "office@alpha.test", "tax_id": "GB1"},
    )
    tenant_a.api().put("/tenants/me/logo", image())
    with tenant_a.schema():
        quote = sent_quote(tenant_a.tenant, customer_id=CustomerFactory(email="lee@example.test").pk)
        document_email.email_document(
            tenant_id=tenant_a.tenant.pk, document_type="quote", document_id=quote.pk, version=quote.version
        )

    [message] = smtp_inbox.messages
    parsed: EmailMessage = message_from_bytes(message.as_bytes(), policy=default)  # type: ignore[assignment]
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    inline = [part for part in parsed.walk() if part.get("Content-ID") == "<logo>"]

    assert text.rstrip().endswith("1 Quay Street\nBristol\noffice@alpha.test\nTax ID: GB1")
    assert "color:#1A73E8" in html
    assert 'src="cid:logo"' in html
    assert [part.get_content_type() for part in inline] == ["image/png"]
    assert parsed["Reply-To"] == "office@alpha.test"


def s3_object(key: str) -> dict | None:
    """The object at `key` (its full key) read with a boto3 client of the test's own, or None."""
    client = boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": settings.S3_ADDRESSING_STYLE}),
    )
    try:
        answer = client.get_object(Bucket=settings.S3_BUCKET, Key=key)
    except client.exceptions.NoSuchKey:
        return None
    return {"content": answer["Body"].read(), "content_type": answer["ContentType"]}


def logo_row(tenant) -> TenantLogo:
    return TenantLogo.objects.get(tenant_id=tenant.tenant.pk)


def test_the_logo_is_kept_in_object_storage_under_the_tenants_prefix_not_in_the_database(tenant_a):
    first, second = image(color="red"), image("JPEG", color="blue")

    tenant_a.api().put("/tenants/me/logo", first)
    first_key = logo_row(tenant_a).key
    tenant_a.api().put("/tenants/me/logo", second)
    row = logo_row(tenant_a)

    assert row.content is None
    assert row.key.startswith("logo/")
    assert s3_object(f"tenants/{tenant_a.tenant.schema_name}/{row.key}") == {
        "content": second,
        "content_type": "image/jpeg",
    }
    assert s3_object(f"tenants/{tenant_a.tenant.schema_name}/{first_key}") is None  # the replaced one is gone
    assert tenant_a.api().get("/tenants/me/logo").content == second


def test_a_logo_kept_in_the_database_before_is_served_and_moves_to_storage_on_first_read(tenant_a):
    png = image(color="green")
    TenantLogo.objects.filter(tenant_id=tenant_a.tenant.pk).delete()
    TenantLogo.objects.create(tenant_id=tenant_a.tenant.pk, content=png, content_type="image/png", sha256="digest")

    served = tenant_a.api().get("/tenants/me/logo")
    row = logo_row(tenant_a)
    again = tenant_a.api().get("/tenants/me/logo")

    assert (served.status_code, served.content, served["ETag"]) == (200, png, '"digest"')
    assert row.content is None
    moved = s3_object(f"tenants/{tenant_a.tenant.schema_name}/{row.key}")
    assert moved == {"content": png, "content_type": "image/png"}
    assert again.content == png


def test_a_business_is_served_its_own_logo_never_anothers(tenant_a, tenant_b):
    a_logo, b_logo = image(color="red"), image(color="blue")
    tenant_a.api().put("/tenants/me/logo", a_logo)
    tenant_b.api().put("/tenants/me/logo", b_logo)

    assert tenant_a.api().get("/tenants/me/logo").content == a_logo
    assert tenant_b.api().get("/tenants/me/logo").content == b_logo
    assert s3_object(f"tenants/{tenant_b.tenant.schema_name}/{logo_row(tenant_b).key}")["content"] == b_logo
    # Tenant B's removal leaves A's logo alone.
    tenant_b.api().delete("/tenants/me/logo")
    assert_refused(tenant_b.api().get("/tenants/me/logo"), 404)
    assert tenant_a.api().get("/tenants/me/logo").content == a_logo


def test_removing_the_logo_deletes_its_object(tenant_a):
    tenant_a.api().put("/tenants/me/logo", image())
    key = f"tenants/{tenant_a.tenant.schema_name}/{logo_row(tenant_a).key}"

    removed = tenant_a.api().delete("/tenants/me/logo")

    assert removed.status_code == 204
    assert s3_object(key) is None
    assert not TenantLogo.objects.filter(tenant_id=tenant_a.tenant.pk).exists()


@pytest.fixture
def storage_down(settings):
    """Storage that does not answer: a closed port on this host, one attempt, a short timeout."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    options = {**settings.STORAGES["default"]["OPTIONS"], "endpoint_url": f"http://127.0.0.1:{closed_port}"}
    settings.STORAGES = {**settings.STORAGES, "default": {**settings.STORAGES["default"], "OPTIONS": options}}
    settings.S3_TIMEOUT = 1
    storage.storage.cache_clear()
    yield
    storage.storage.cache_clear()


@pytest.mark.parametrize(
    ("method", "body"), [("GET", None), ("PUT", image(color="blue")), ("DELETE", None)], ids=["get", "put", "delete"]
)
def test_storage_down_is_503_in_the_envelope_and_changes_nothing(tenant_a, request, method, body):
    kept = image(color="red")
    tenant_a.api().put("/tenants/me/logo", kept)
    before = logo_row(tenant_a)
    request.getfixturevalue("storage_down")

    answer = tenant_a.api().request(method, "/tenants/me/logo", body)

    assert assert_refused(answer, 503)["errors"][0]["code"] == "storage_unavailable"
    after = logo_row(tenant_a)
    assert (after.key, after.sha256) == (before.key, before.sha256)


def test_the_purge_deletes_the_logo_with_the_business(db):
    due = services.create_tenant(slug="logo-purged", name="Due")
    branding.store_logo(tenant=due, content=image())
    key = f"tenants/{due.schema_name}/{TenantLogo.objects.get(tenant=due).key}"
    services.schedule_tenant_deletion(tenant_id=due.pk)

    services.purge_deleted_tenants(now=timezone.now() + timedelta(days=30, minutes=1))

    assert s3_object(key) is None
    assert not TenantLogo.objects.filter(tenant_id=due.pk).exists()
