"""Who caused the change an event records: a user (`user:<id>`) or a system actor."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token

SYSTEM = "system"
SCHEDULER = "scheduler"
STRIPE = "stripe"
TWILIO = "twilio"
VAPI = "vapi"

_current_actor: ContextVar[str] = ContextVar("event_actor", default=SYSTEM)


def user_actor(user_id: int) -> str:
    return f"user:{user_id}"


def customer_actor(customer_id: int) -> str:
    """A customer acting through their hub link (no account: the customer row's id)."""
    return f"customer:{customer_id}"


def current_actor() -> str:
    return _current_actor.get()


def set_actor(actor: str) -> Token[str]:
    """Name `actor` as the cause of what follows (a request's user); reset with reset_actor."""
    return _current_actor.set(actor)


def reset_actor(token: Token[str]) -> None:
    _current_actor.reset(token)


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Events emitted inside the block name `actor` as their cause."""
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)
