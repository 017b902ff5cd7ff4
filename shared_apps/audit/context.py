"""Where the current action comes from (the request's address, user agent and id), for the
audit rows it writes. The HTTP middleware sets it; jobs and commands leave it empty."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Origin:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""


NOWHERE = Origin()
_origin: ContextVar[Origin | None] = ContextVar("audit_origin", default=None)


def current_origin() -> Origin:
    return _origin.get() or NOWHERE


@contextmanager
def coming_from(origin: Origin) -> Iterator[None]:
    """Audit rows written inside the block name `origin`."""
    token = _origin.set(origin)
    try:
        yield
    finally:
        _origin.reset(token)
