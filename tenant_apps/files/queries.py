"""Reading attachments."""

from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.files.models import Attachment
from tenant_apps.files.parents import require_parent


def list_attachments(*, parent_type: str, parent_id: int) -> QuerySet[Attachment]:
    """A row's completed attachments, newest first (uploads in flight are not listed); 404
    for a row the caller cannot see."""
    require_parent(kind=parent_type, parent_id=parent_id)
    return Attachment.objects.filter(parent_type=parent_type, parent_id=parent_id, status=Attachment.Status.READY)


def pdf_photos(*, parent_type: str, parent_id: int) -> list[Attachment]:
    """The photos chosen for a quote's or invoice's PDF, oldest first."""
    return list(
        Attachment.objects.filter(
            parent_type=parent_type, parent_id=parent_id, status=Attachment.Status.READY, on_pdf=True
        ).order_by("created_at", "id")
    )


def get_attachment(*, attachment_id: int, for_update: bool = False) -> Attachment:
    attachments = Attachment.objects.all()
    if for_update:
        attachments = attachments.select_for_update(of=("self",))
    attachment = attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound("Attachment not found.")
    return attachment
