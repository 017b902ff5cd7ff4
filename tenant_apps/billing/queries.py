"""Reading and locking documents of either kind."""

from typing import TypeVar

from django.db.models import QuerySet

from shared_apps.errors import NotFound
from tenant_apps.billing.models import Document

DocumentT = TypeVar("DocumentT", bound=Document)


def filter_documents(
    documents: QuerySet[DocumentT], *, status: str | None = None, customer_id: int | None = None
) -> QuerySet[DocumentT]:
    """`documents` newest first (the models' ordering), optionally of one status or one customer."""
    if status is not None:
        documents = documents.filter(status=status)
    if customer_id is not None:
        documents = documents.filter(customer_id=customer_id)
    return documents


def get_document(documents: QuerySet[DocumentT], *, document_id: int) -> DocumentT:
    """One of `documents`; 404 naming the kind when it is not in this tenant's schema."""
    document = documents.filter(pk=document_id).first()
    if document is None:
        raise NotFound(f"{documents.model.label()} not found.")
    return document


def lock_document(model: type[DocumentT], *, document_id: int) -> DocumentT:
    """The document locked until the caller's transaction ends (lock order: quote, invoice,
    payment). No key lock: rows that reference it (items, payments, the invoice of a quote)
    can still be written while it is held, and two lockers still queue."""
    document = (
        model.objects.select_for_update(no_key=True, of=("self",))
        .select_related("customer", "service_property")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        raise NotFound(f"{model.label()} not found.")
    return document
