"""Attachments of customers, appointments, quotes, invoices and texts, and the storage quota."""

from datetime import datetime
from typing import Annotated

from ninja import Router, Schema
from pydantic import Field

from api.auth import ApiRequest, manager, member
from api.idempotency import idempotent
from api.lists import paginate
from api.schemas import OMITTED, PatchSchema, RowId, StrictSchema, enum_of, example
from tenant_apps.files import content, queries, services
from tenant_apps.files.models import Attachment

router = Router(tags=["attachments"])


class AttachmentOut(Schema):
    model_config = example(
        id=7,
        parent_type="appointment",
        parent_id=42,
        status="ready",
        filename="leak-before.jpg",
        content_type="image/jpeg",
        size=2480133,
        caption="Under the sink, before",
        on_pdf=False,
        width=4032,
        height=3024,
        has_thumbnail=True,
        uploaded_by=3,
        created_at="2026-03-02T14:05:00Z",
        completed_at="2026-03-02T14:05:09Z",
    )

    id: int
    parent_type: Annotated[str, enum_of(Attachment.Parent)]
    parent_id: int
    status: Annotated[str, enum_of(Attachment.Status)]
    filename: str
    content_type: str
    size: int = Field(description="Bytes; while pending, the most the upload may have.")
    caption: str
    on_pdf: bool
    width: int | None
    height: int | None
    has_thumbnail: bool
    uploaded_by: int | None
    created_at: datetime
    completed_at: datetime | None

    @staticmethod
    def resolve_has_thumbnail(obj: Attachment) -> bool:
        return bool(obj.thumbnail_key)


class AttachmentIn(StrictSchema):
    model_config = example(filename="leak-before.jpg", content_type="image/jpeg", size=2480133, caption="Before")

    filename: str = Field(min_length=1, max_length=255)
    content_type: Annotated[str, enum_of(content.ALLOWED_TYPES)] = Field(
        max_length=100, description="What the file is; the upload must send this Content-Type."
    )
    size: int = Field(ge=1, description="Its size in bytes (at most 25 MB); the upload may not be larger.")
    caption: str = Field(default="", max_length=500)


class UploadFormOut(Schema):
    url: str = Field(description="POST here as multipart/form-data: every field below, then the file as `file`.")
    fields: dict[str, str]
    expires_at: datetime


class UploadOut(Schema):
    attachment: AttachmentOut
    upload: UploadFormOut


class AttachmentPatch(PatchSchema):
    caption: str = Field(default=OMITTED, max_length=500)
    on_pdf: bool = Field(default=OMITTED, description="Print this photo on its quote's or invoice's PDF.")


class DownloadOut(Schema):
    url: str
    thumbnail_url: str | None
    expires_at: datetime


class FileSettingsOut(Schema):
    quota_bytes: int = Field(description="0: no limit.")
    used_bytes: int


class FileSettingsIn(StrictSchema):
    quota_bytes: int = Field(ge=0, description="The business's storage quota in bytes (0: no limit).")


def _add_parent_routes(path: str, kind: str, *, uploads: bool) -> None:
    @router.get(
        f"{path}/{{parent_id}}/attachments",
        response=list[AttachmentOut],
        auth=member,
        description=f"The {kind}'s completed attachments, newest first.",
    )
    @paginate
    def list_attachments(request: ApiRequest, parent_id: RowId):
        return queries.list_attachments(parent_type=kind, parent_id=parent_id)

    if not uploads:
        return

    @router.post(
        f"{path}/{{parent_id}}/attachments",
        response={201: UploadOut},
        auth=member,
        description=(
            f"Attach a file to the {kind}: answers a pending attachment and a form to POST the file to "
            "storage with (its size and Content-Type are part of the signature), then call `.../complete`. "
            "409 when the business's storage is full."
        ),
    )
    @idempotent
    def start_upload(request: ApiRequest, parent_id: RowId, payload: AttachmentIn):
        upload = services.start_upload(
            parent_type=kind, parent_id=parent_id, user_id=request.auth.user_id, **payload.model_dump()
        )
        form = UploadFormOut(url=upload.url, fields=upload.fields, expires_at=upload.expires_at)
        return 201, {"attachment": upload.attachment, "upload": form}


_add_parent_routes("/customers", Attachment.Parent.CUSTOMER, uploads=True)
_add_parent_routes("/appointments", Attachment.Parent.APPOINTMENT, uploads=True)
_add_parent_routes("/quotes", Attachment.Parent.QUOTE, uploads=True)
_add_parent_routes("/invoices", Attachment.Parent.INVOICE, uploads=True)
# A text's attachments are the media it came with (copied from Twilio).
_add_parent_routes("/sms/messages", Attachment.Parent.MESSAGE, uploads=False)


@router.get("/attachments/settings", response=FileSettingsOut, auth=member)
def get_file_settings(request: ApiRequest):
    """The business's storage quota and what its files use (pending uploads at their declared size)."""
    return services.get_file_settings()


@router.patch("/attachments/settings", response=FileSettingsOut, auth=manager)
def update_file_settings(request: ApiRequest, payload: FileSettingsIn):
    """Set the storage quota (owners and admins); files already kept stay."""
    return services.set_quota(quota=payload.quota_bytes)


@router.get("/attachments/{attachment_id}", response=AttachmentOut, auth=member)
def get_attachment(request: ApiRequest, attachment_id: RowId):
    """One attachment (also while pending)."""
    return queries.get_attachment(attachment_id=attachment_id)


@router.post("/attachments/{attachment_id}/complete", response=AttachmentOut, auth=member)
def complete_attachment(request: ApiRequest, attachment_id: RowId):
    """Check the uploaded file: at most 25 MB, a JPEG, PNG, WebP, HEIC or PDF by its bytes;
    images are kept without EXIF (GPS) and get a thumbnail. 409 while nothing is uploaded;
    400 (and the upload is discarded) for a file that fails the checks."""
    return services.complete_upload(attachment_id=attachment_id)


@router.get("/attachments/{attachment_id}/download", response=DownloadOut, auth=member)
def download_attachment(request: ApiRequest, attachment_id: RowId):
    """Short-lived URLs of the file and of its thumbnail (null for a PDF)."""
    return services.download(attachment_id=attachment_id)


@router.patch("/attachments/{attachment_id}", response=AttachmentOut, auth=member)
def update_attachment(request: ApiRequest, attachment_id: RowId, payload: AttachmentPatch):
    """Change the caption, or `on_pdf`: whether a photo of a quote or invoice is printed on its
    PDF (a draft's at once; a numbered document's PDF stays as issued until its next version)."""
    return services.update_attachment(attachment_id=attachment_id, changes=payload.changes())


@router.delete("/attachments/{attachment_id}", response={204: None}, auth=member)
def delete_attachment(request: ApiRequest, attachment_id: RowId):
    """Delete the attachment and its file: owners and admins any, staff those they uploaded."""
    services.delete_attachment(
        attachment_id=attachment_id, actor_user_id=request.auth.user_id, actor_role=request.auth.role
    )
    return 204, None
