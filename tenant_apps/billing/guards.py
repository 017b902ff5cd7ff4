"""What a document must be for an operation: a draft to edit or delete, items to send."""

from collections.abc import Sequence

from shared_apps.errors import Conflict, StaleVersion, ValidationFailed
from tenant_apps.billing.models import Document


def require_editable(document: Document, *, version: int) -> None:
    """Only drafts are edited, and only from the version the editor saw."""
    if not document.is_draft:
        raise Conflict(
            f"Only drafts can be edited; this document is {document.status}.",
            code="not_editable",
            details=[{"status": document.status}],
        )
    if version != document.version:
        raise StaleVersion(current_version=document.version)


def require_deletable(document: Document) -> None:
    """Numbered documents are part of the books: they change status, never disappear."""
    if not document.is_draft:
        raise Conflict(
            f"A numbered document cannot be deleted; {document.instead_of_deleting}.",
            code="numbered_document",
            details=[{"number": document.number, "status": document.status}],
        )


def require_items(items: Sequence[object]) -> None:
    if not items:
        message = "A document needs at least one line item before it is sent."
        raise ValidationFailed(message, code="empty_document", details=[{"field": "items", "message": message}])
