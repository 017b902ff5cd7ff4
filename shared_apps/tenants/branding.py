"""A business's brand on what its customers see: the logo (this module is the only door to
where it is stored, so it can move to file storage without its readers changing), and the
contact block of its emails. The brand colour and contact details are Tenant fields (its
profile)."""

import hashlib
import io
from dataclasses import dataclass

from django.db import transaction
from PIL import Image, UnidentifiedImageError

from shared_apps.errors import NotFound, ValidationFailed
from shared_apps.tenants.models import Tenant, TenantLogo

# A logo prints a few centimetres wide: this is plenty, and keeps every PDF small.
MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_SIDE = 2000
# What a logo may be, told by its first bytes (never by the name or a client's header).
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": ("image/png", "PNG"), b"\xff\xd8\xff": ("image/jpeg", "JPEG")}


@dataclass(frozen=True)
class Logo:
    content: bytes
    content_type: str
    sha256: str


def _refuse(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details=[{"field": "logo", "message": message}])


def check_logo(content: bytes) -> str:
    """The content type of an acceptable logo: a PNG or JPEG (by its bytes), at most
    MAX_LOGO_BYTES, MAX_LOGO_SIDE pixels a side, that decodes; anything else is a 400."""
    if len(content) > MAX_LOGO_BYTES:
        raise _refuse(f"A logo is at most {MAX_LOGO_BYTES // 1024} KB.", "logo_too_large")
    kind = next((found for signature, found in _SIGNATURES.items() if content.startswith(signature)), None)
    if kind is None:
        raise _refuse("A logo is a PNG or JPEG image.", "logo_not_an_image")
    content_type, image_format = kind
    try:
        with Image.open(io.BytesIO(content), formats=[image_format]) as image:
            # The header's size, read before any pixel is decoded (no decompression bomb).
            if max(image.size) > MAX_LOGO_SIDE:
                raise _refuse(f"A logo is at most {MAX_LOGO_SIDE} pixels a side.", "logo_too_large")
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise _refuse("The image could not be read.", "logo_not_an_image") from None
    return content_type


def store_logo(*, tenant_id: int, content: bytes) -> Logo:
    """Check and keep `content` as the business's logo, replacing any earlier one."""
    content_type = check_logo(content)
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        TenantLogo.objects.update_or_create(
            tenant_id=tenant_id, defaults={"content": content, "content_type": content_type, "sha256": digest}
        )
    return Logo(content=content, content_type=content_type, sha256=digest)


def remove_logo(*, tenant_id: int) -> None:
    TenantLogo.objects.filter(tenant_id=tenant_id).delete()


def tenant_logo(tenant: Tenant) -> Logo | None:
    """The business's logo, or None."""
    row = TenantLogo.objects.filter(tenant_id=tenant.pk).values_list("content", "content_type", "sha256").first()
    if row is None:
        return None
    content, content_type, digest = row
    return Logo(content=bytes(content), content_type=content_type, sha256=digest)


def require_tenant_logo(tenant: Tenant) -> Logo:
    logo = tenant_logo(tenant)
    if logo is None:
        raise NotFound("The business has no logo.")
    return logo


def contact_lines(tenant: Tenant) -> list[str]:
    """The business's contact block as its documents print it: name, address lines, phone,
    email and tax number, the blank ones left out."""
    lines = [tenant.name, *tenant.address.splitlines(), tenant.phone, tenant.email]
    if tenant.tax_id:
        lines.append(f"Tax ID: {tenant.tax_id}")
    return [line.strip() for line in lines if line and line.strip()]
