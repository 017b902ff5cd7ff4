"""Reading and locking documents of either kind."""

from typing import TypeVar

from shared_apps.errors import NotFound
from tenant_apps.billing.models import Document

DocumentT = TypeVar("DocumentT", bound=Document)


def get_document(model: type[DocumentT], *, document_id: int) -> DocumentT:
    document = model.objects.filter(pk=document_id).first()
    if document is None:
        raise NotFound(f"{model.label()} not found.")
    return document


def lock_document(model: type[DocumentT], *, document_id: int) -> DocumentT:
    """The document locked until the caller's transaction ends (lock order: quote, invoice,
    payment). No key lock: rows that reference it (items, payments, the invoice of a quote)
    can still be written while it is held, and two lockers still queue."""
    document = (
        model.objects.select_for_update(no_key=True, of=("self",))
        .select_related("customer")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        raise NotFound(f"{model.label()} not found.")
    return document
