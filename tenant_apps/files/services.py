"""Attachments: handing out uploads, checking them, captions, downloads, deletion, the sweep
of uploads never completed, the storage quota, and files made by the system (MMS media).

An upload goes straight from the client to storage by a presigned POST whose signed policy
pins the key and Content-Type and caps the size at what was declared, so storage refuses
anything else. `complete_upload` then reads the object: its type from its bytes, images
re-encoded without EXIF and thumbnailed (tenant_apps/files/content.py), and moves the clean
copy to the attachment's own key, deleting the upload: a second POST with the same form
lands nowhere anyone reads. The quota counts pending uploads at their declared size."""

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, NoReturn

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from shared_apps import storage
from shared_apps.accounts.services import MANAGER_ROLES
from shared_apps.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tenant_apps.files import content as checks
from tenant_apps.files.models import Attachment, FileSettings
from tenant_apps.files.parents import require_parent
from tenant_apps.files.queries import get_attachment

logger = logging.getLogger("files")

PDF_PARENTS = (Attachment.Parent.QUOTE, Attachment.Parent.INVOICE)
UPLOADS = "uploads/"
FILES = "files/"
# An image's smaller copies, beside it.
THUMBNAIL_SUFFIX = ".thumb.jpg"
PRINT_SUFFIX = ".print.jpg"


@dataclass(frozen=True)
class Upload:
    """A pending attachment and the form that uploads its bytes."""

    attachment: Attachment
    url: str
    fields: dict[str, str]
    expires_at: datetime


@dataclass(frozen=True)
class Download:
    url: str
    thumbnail_url: str | None
    expires_at: datetime


def _clean_filename(filename: str) -> str:
    """The last part of a path, without control characters (it goes in a download's header)."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(char for char in name if char.isprintable()).strip()
    if not name:
        raise ValidationFailed("A file name is required.", details=[{"field": "filename", "message": "Empty."}])
    return name[:255]


def quota_bytes() -> int:
    """The business's quota (0: none)."""
    row = FileSettings.objects.first()
    if row is None or row.quota_bytes is None:
        return int(settings.ATTACHMENT_DEFAULT_QUOTA_BYTES)
    return int(row.quota_bytes)


def used_bytes() -> int:
    """Bytes kept and bytes promised to uploads in flight."""
    return int(Attachment.objects.aggregate(total=Sum("size"))["total"] or 0)


def get_file_settings() -> dict[str, int]:
    return {"quota_bytes": quota_bytes(), "used_bytes": used_bytes()}


def set_quota(*, quota: int) -> dict[str, int]:
    """Set the business's storage quota in bytes (0: no limit). Files already kept stay."""
    if quota < 0:
        raise ValidationFailed("The quota cannot be negative.", details=[{"field": "quota_bytes", "message": ">= 0"}])
    with transaction.atomic():
        row = _lock_settings()
        row.quota_bytes = quota
        row.save(update_fields=["quota_bytes"])
    return get_file_settings()


def _lock_settings() -> FileSettings:
    FileSettings.objects.get_or_create(pk=1)
    return FileSettings.objects.select_for_update().get(pk=1)


def _reserve(*, size: int) -> None:
    """Refuse (409) when `size` more bytes would pass the quota; call under the settings lock."""
    quota = quota_bytes()
    used = used_bytes()
    if quota and used + size > quota:
        raise Conflict(
            "The business's file storage is full.",
            code="storage_quota_exceeded",
            details=[{"quota_bytes": quota, "used_bytes": used, "requested_bytes": size}],
        )


def start_upload(
    *,
    parent_type: str,
    parent_id: int,
    filename: str,
    content_type: str,
    size: int,
    caption: str = "",
    user_id: int | None,
) -> Upload:
    """A pending attachment of the parent row and the presigned form to upload it with."""
    require_parent(kind=parent_type, parent_id=parent_id)
    if content_type not in checks.ALLOWED_TYPES:
        raise ValidationFailed(
            "This type of file cannot be attached.",
            code="file_type_not_allowed",
            details=[{"field": "content_type", "message": f"One of: {', '.join(checks.ALLOWED_TYPES)}."}],
        )
    if not 0 < size <= settings.ATTACHMENT_MAX_BYTES:
        raise ValidationFailed(
            "The file is too large.",
            code="file_too_large",
            details=[{"field": "size", "message": f"At most {settings.ATTACHMENT_MAX_BYTES} bytes."}],
        )
    with transaction.atomic():
        _lock_settings()
        _reserve(size=size)
        attachment = Attachment.objects.create(
            parent_type=parent_type,
            parent_id=parent_id,
            filename=_clean_filename(filename),
            content_type=content_type,
            size=size,
            caption=caption,
            upload_key=f"{UPLOADS}{uuid.uuid4().hex}",
            uploaded_by=user_id,
        )
    expires_in = settings.ATTACHMENT_UPLOAD_URL_SECONDS
    form = storage.presigned_upload(
        attachment.upload_key, content_type=content_type, max_bytes=size, expires_in=expires_in
    )
    return Upload(
        attachment=attachment,
        url=form["url"],
        fields=form["fields"],
        expires_at=timezone.now() + timedelta(seconds=expires_in),
    )


def complete_upload(*, attachment_id: int) -> Attachment:
    """Check an uploaded file and keep its clean copy; a ready attachment answers as it is.

    Nothing uploaded yet: 409 (upload, then call again). Too large or not an allowed type
    by its bytes: the upload and the attachment are deleted and 400 says why."""
    attachment = get_attachment(attachment_id=attachment_id)
    if attachment.status == Attachment.Status.READY:
        return attachment
    found = storage.head(attachment.upload_key)
    if found is None:
        raise Conflict("Nothing was uploaded for this attachment yet.", code="upload_missing")
    if found.size > min(attachment.size, settings.ATTACHMENT_MAX_BYTES):
        _refuse(attachment, "The uploaded file is larger than declared or allowed.", code="file_too_large")
    data = storage.read(attachment.upload_key, max_bytes=settings.ATTACHMENT_MAX_BYTES + 1) or b""
    try:
        clean = checks.clean_file(data)
    except checks.ContentRefused as refused:
        _refuse(attachment, refused.message, code=refused.code)
    key, thumbnail_key = _store_clean(clean)
    with transaction.atomic():
        updated = Attachment.objects.filter(pk=attachment.pk, status=Attachment.Status.PENDING).update(
            status=Attachment.Status.READY,
            key=key,
            thumbnail_key=thumbnail_key,
            content_type=clean.content_type,
            size=len(clean.content),
            width=clean.width,
            height=clean.height,
            completed_at=timezone.now(),
        )
    if not updated:  # completed (or deleted) by a concurrent call meanwhile: ours is not kept
        storage.delete(*_object_keys(key=key, thumbnail_key=thumbnail_key))
        return get_attachment(attachment_id=attachment_id)
    storage.delete(attachment.upload_key)
    return get_attachment(attachment_id=attachment_id)


def _store_clean(clean: checks.CleanFile) -> tuple[str, str]:
    """Write a checked file (and an image's thumbnail and print copy) under a new key; answers
    the key and the thumbnail's key (empty for a PDF)."""
    key = f"{FILES}{uuid.uuid4().hex}"
    storage.write(key, clean.content, content_type=clean.content_type)
    if clean.thumbnail is None or clean.print_copy is None:
        return key, ""
    storage.write(f"{key}{PRINT_SUFFIX}", clean.print_copy, content_type=checks.JPEG)
    storage.write(f"{key}{THUMBNAIL_SUFFIX}", clean.thumbnail, content_type=checks.JPEG)
    return key, f"{key}{THUMBNAIL_SUFFIX}"


def _object_keys(*, upload_key: str = "", key: str = "", thumbnail_key: str = "") -> list[str]:
    """Every object of an attachment: its upload, the file, and an image's thumbnail and print copy."""
    derived = [thumbnail_key, f"{key}{PRINT_SUFFIX}"] if thumbnail_key else []
    return [name for name in (upload_key, key, *derived) if name]


def _refuse(attachment: Attachment, message: str, *, code: str) -> NoReturn:
    Attachment.objects.filter(pk=attachment.pk, status=Attachment.Status.PENDING).delete()
    storage.delete(attachment.upload_key)
    raise ValidationFailed(message, code=code)


def update_attachment(*, attachment_id: int, changes: Mapping[str, Any]) -> Attachment:
    """Change the caption, or whether a photo of a quote or invoice is printed on its PDF
    (a draft's PDF follows at once; a numbered one's from its next version, as issued)."""
    with transaction.atomic():
        attachment = get_attachment(attachment_id=attachment_id, for_update=True)
        if changes.get("on_pdf") and (
            attachment.parent_type not in PDF_PARENTS
            or attachment.status != Attachment.Status.READY
            or attachment.content_type not in checks.IMAGE_TYPES
        ):
            raise ValidationFailed(
                "Only a photo of a quote or invoice can be printed on its PDF.",
                code="not_a_document_photo",
                details=[{"field": "on_pdf", "message": "Not a ready photo of a quote or invoice."}],
            )
        for name, value in changes.items():
            setattr(attachment, name, value)
        attachment.save(update_fields=list(changes))
    return attachment


def pdf_images(*, attachment_ids: list[int]) -> dict[int, bytes]:
    """The print copies of a PDF's chosen photos (made when each was completed), by attachment id."""
    keys = dict(Attachment.objects.filter(pk__in=attachment_ids).values_list("pk", "key"))
    images = {}
    for attachment_id in attachment_ids:
        data = storage.read(f"{keys[attachment_id]}{PRINT_SUFFIX}") if attachment_id in keys else None
        if data is None:
            raise NotFound("A photo chosen for the PDF is missing.")
        images[attachment_id] = data
    return images


def delete_attachment(*, attachment_id: int, actor_user_id: int | None, actor_role: str | None) -> None:
    """Delete the row, then its objects. Owners and admins delete any attachment, staff those
    they uploaded (`actor_role` None: the system)."""
    with transaction.atomic():
        attachment = get_attachment(attachment_id=attachment_id, for_update=True)
        if actor_role is not None and actor_role not in MANAGER_ROLES and attachment.uploaded_by != actor_user_id:
            raise PermissionDenied("Only owners, admins or whoever uploaded it may delete an attachment.")
        attachment.delete()
    storage.delete(
        *_object_keys(upload_key=attachment.upload_key, key=attachment.key, thumbnail_key=attachment.thumbnail_key)
    )


def delete_attachments_of(*, parent_type: str, parent_id: int) -> None:
    """Delete a row's attachments, for the service deleting the row, in its transaction; the
    objects go once that commits."""
    rows = Attachment.objects.filter(parent_type=parent_type, parent_id=parent_id)
    keys = [
        name
        for upload_key, key, thumbnail_key in rows.values_list("upload_key", "key", "thumbnail_key")
        for name in _object_keys(upload_key=upload_key, key=key, thumbnail_key=thumbnail_key)
    ]
    if keys:
        rows.delete()
        transaction.on_commit(lambda: storage.delete(*keys))


def download(*, attachment_id: int) -> Download:
    """Short-lived URLs of a ready attachment and its thumbnail."""
    attachment = get_attachment(attachment_id=attachment_id)
    if attachment.status != Attachment.Status.READY:
        raise Conflict("The upload of this attachment is not complete.", code="upload_incomplete")
    expires_in = settings.ATTACHMENT_DOWNLOAD_URL_SECONDS
    url = storage.presigned_download(
        attachment.key, expires_in=expires_in, filename=attachment.filename, content_type=attachment.content_type
    )
    thumbnail_url = (
        storage.presigned_download(
            attachment.thumbnail_key,
            expires_in=expires_in,
            filename=f"{PurePosixPath(attachment.filename).stem}-thumbnail.jpg",
            content_type=checks.JPEG,
        )
        if attachment.thumbnail_key
        else None
    )
    return Download(url=url, thumbnail_url=thumbnail_url, expires_at=timezone.now() + timedelta(seconds=expires_in))


def attach_bytes(*, parent_type: str, parent_id: int, filename: str, data: bytes, caption: str = "") -> Attachment:
    """Keep a file the system received (an MMS picture): checked and cleaned as an upload is,
    stored and recorded ready. Raises ContentRefused for bytes we do not keep, and Conflict
    when the business's storage is full."""
    return attach_files(parent_type=parent_type, parent_id=parent_id, files=[(filename, data)], caption=caption)[0]


def attach_files(
    *, parent_type: str, parent_id: int, files: Sequence[tuple[str, bytes]], caption: str = ""
) -> list[Attachment]:
    """Keep files a form posted (`(filename, bytes)` each), all or none: every one is checked
    (size at most ATTACHMENT_MAX_BYTES, type from its bytes, images re-encoded without EXIF)
    before any is stored, so a refused one leaves nothing behind. Raises ContentRefused
    (its `code` says why) and Conflict when the business's storage is full."""
    for _, data in files:
        if len(data) > settings.ATTACHMENT_MAX_BYTES:
            raise checks.ContentRefused(
                f"The file is larger than {settings.ATTACHMENT_MAX_BYTES} bytes.", code="file_too_large"
            )
    cleaned = [(_clean_filename(filename), checks.clean_file(data)) for filename, data in files]
    attachments = []
    with transaction.atomic():
        _lock_settings()
        _reserve(size=sum(len(clean.content) for _, clean in cleaned))
        for filename, clean in cleaned:
            key, thumbnail_key = _store_clean(clean)
            attachments.append(
                Attachment.objects.create(
                    parent_type=parent_type,
                    parent_id=parent_id,
                    status=Attachment.Status.READY,
                    filename=filename,
                    content_type=clean.content_type,
                    size=len(clean.content),
                    caption=caption,
                    upload_key=f"{UPLOADS}{uuid.uuid4().hex}",
                    key=key,
                    thumbnail_key=thumbnail_key,
                    width=clean.width,
                    height=clean.height,
                    completed_at=timezone.now(),
                )
            )
    return attachments


def sweep_abandoned_uploads(*, now: datetime | None = None) -> int:
    """Delete attachments still pending ATTACHMENT_UPLOAD_SWEEP_AFTER after they were handed
    out, with whatever was uploaded for them; answers how many."""
    cutoff = (now or timezone.now()) - settings.ATTACHMENT_UPLOAD_SWEEP_AFTER
    pending = Attachment.objects.filter(status=Attachment.Status.PENDING)
    stale = list(pending.filter(created_at__lt=cutoff).values_list("pk", "upload_key"))
    if stale:
        storage.delete(*(key for _, key in stale))
        Attachment.objects.filter(pk__in=[pk for pk, _ in stale], status=Attachment.Status.PENDING).delete()
        logger.info("Swept %d abandoned uploads", len(stale))
    # An object under uploads/ that no pending attachment waits for was posted again with a
    # form already used (its attachment is complete): nobody reads it, so it goes too.
    if Attachment.objects.exists():
        waiting = set(pending.values_list("upload_key", flat=True))
        strays = [key for key, _ in storage.list_objects(prefix=UPLOADS) if key not in waiting]
        storage.delete(*strays)
    return len(stale)
