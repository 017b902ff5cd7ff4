"""A business's brand on what its customers see: the logo (this module is the only door to
it: the bytes in object storage under the tenant's prefix, the TenantLogo row naming them),
and the contact block of its emails. The brand colour and contact details are Tenant fields
(its profile)."""

import hashlib
import io
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from shared_apps import storage
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


def store_logo(*, tenant: Tenant, content: bytes) -> Logo:
    """Check and keep `content` as the business's logo, replacing any earlier one. The object
    is written first, under a key of its own, and the row then points at it; the replaced
    object is deleted after, so the row never names a missing object."""
    content_type = check_logo(content)
    digest = hashlib.sha256(content).hexdigest()
    key = _new_key(content_type)
    storage.write(key, content, content_type=content_type, schema_name=tenant.schema_name)
    try:
        with transaction.atomic():
            fields = {"key": key, "content": None, "content_type": content_type, "sha256": digest}
            rows = TenantLogo.objects.select_for_update().filter(tenant_id=tenant.pk)
            previous = rows.values_list("pk", "key").first()
            if previous is None:
                TenantLogo.objects.create(tenant_id=tenant.pk, **fields)
            else:
                TenantLogo.objects.filter(pk=previous[0]).update(updated_at=timezone.now(), **fields)
    except Exception:
        storage.delete(key, schema_name=tenant.schema_name)
        raise
    if previous is not None and previous[1]:
        storage.delete(previous[1], schema_name=tenant.schema_name)
    return Logo(content=content, content_type=content_type, sha256=digest)


def remove_logo(*, tenant: Tenant) -> None:
    """Remove the logo, its object first: storage failing leaves the logo as it was (503)."""
    with transaction.atomic():
        row = TenantLogo.objects.select_for_update().filter(tenant_id=tenant.pk).values_list("pk", "key").first()
        if row is None:
            return
        pk, key = row
        if key:
            storage.delete(key, schema_name=tenant.schema_name)
        TenantLogo.objects.filter(pk=pk).delete()


def tenant_logo(tenant: Tenant) -> Logo | None:
    """The business's logo, or None. A logo kept in the database before logos moved to
    object storage moves there now."""
    fields = ("pk", "key", "content", "content_type", "sha256")
    row = TenantLogo.objects.filter(tenant_id=tenant.pk).values_list(*fields).first()
    if row is None:
        return None
    pk, key, kept, content_type, digest = row
    if key:
        content = storage.read(key, schema_name=tenant.schema_name)
        if content is None:  # replaced or removed since the row was read
            return None
    elif kept is None:
        return None
    else:
        content = bytes(kept)
        _move_to_storage(tenant=tenant, pk=pk, content=content, content_type=content_type)
    return Logo(content=content, content_type=content_type, sha256=digest)


def _move_to_storage(*, tenant: Tenant, pk: int, content: bytes, content_type: str) -> None:
    key = _new_key(content_type)
    storage.write(key, content, content_type=content_type, schema_name=tenant.schema_name)
    if TenantLogo.objects.filter(pk=pk, key="").update(key=key, content=None) == 0:
        storage.delete(key, schema_name=tenant.schema_name)  # moved or replaced by a concurrent request meanwhile


def _new_key(content_type: str) -> str:
    # The extension names the type for whoever browses the bucket or imports an export.
    extension = "png" if content_type == "image/png" else "jpg"
    return f"logo/{uuid.uuid4().hex}.{extension}"


def logo_rows(*, tenant_id: int) -> QuerySet[TenantLogo]:
    """The business's logo row, as a tenant export carries it (its object goes with the
    tenant's other objects; a logo still in the database goes with its bytes)."""
    return TenantLogo.objects.filter(tenant_id=tenant_id)


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
