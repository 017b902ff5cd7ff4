"""The business's brand: colour, logo and contact block on its documents and emails."""

import io
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest
from PIL import Image
from pypdf import PdfReader

from shared_apps.tenants.branding import MAX_LOGO_BYTES
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
