"""Domain exceptions raised by services. Each carries a stable `code`; `api/errors.py`
maps them to HTTP statuses and the error envelope, so services never speak HTTP."""

from typing import Any

from django.db import IntegrityError


class DomainError(Exception):
    """Base of every rule a service refuses. `details` become the envelope's `errors`."""

    code = "domain_error"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or []


class ValidationFailed(DomainError):
    """Input that is well-formed JSON but breaks a rule (400)."""

    code = "validation_failed"


class NotAuthenticated(DomainError):
    """No or bad credentials (401)."""

    code = "not_authenticated"


class PermissionDenied(DomainError):
    """Authenticated but not allowed (403)."""

    code = "permission_denied"


class NotFound(DomainError):
    """The row does not exist for this tenant (404); never says whether it exists elsewhere."""

    code = "not_found"


class Conflict(DomainError):
    """The request clashes with current state: taken slug, double booking, stale version (409)."""

    code = "conflict"


class InvalidTransition(Conflict):
    """A status change the state machine does not allow; lists the allowed next states."""

    code = "invalid_transition"

    def __init__(self, *, current: str, requested: str, allowed: list[str]):
        super().__init__(
            f"Cannot change status from {current} to {requested}.",
            details=[{"current": current, "requested": requested, "allowed": allowed}],
        )
        self.allowed = allowed


class StaleVersion(Conflict):
    """An optimistic update based on an old `version` (409)."""

    code = "stale_version"

    def __init__(self, *, current_version: int):
        super().__init__(
            "The document was changed by someone else; reload it and try again.",
            details=[{"current_version": current_version}],
        )


class Gone(DomainError):
    """A one-time thing that was valid once and no longer is: a used, revoked or expired
    invitation (410)."""

    code = "gone"


class RateLimited(DomainError):
    """Too many requests from one client (429)."""

    code = "rate_limited"

    def __init__(self, *, retry_after: int):
        super().__init__("Too many requests; try again later.", details=[{"retry_after": retry_after}])
        self.retry_after = retry_after


class ProviderUnavailable(DomainError):
    """A provider (Stripe, Twilio) did not answer or refused for now; try again later (503)."""

    code = "provider_unavailable"


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the PostgreSQL constraint `error` violated (None when the driver gives none),
    so a service can tell which rule a concurrent write broke."""
    diag = getattr(error.__cause__, "diag", None)
    return diag.constraint_name if diag is not None else None
