"""Which code processes a provider's events. Tenant apps register their handler in their
AppConfig.ready(), so the public pipeline never imports them (shared apps never import tenant apps)."""

from collections.abc import Callable

from shared_apps.webhooks.models import WebhookEvent

# Called with the stored event, inside the event's transaction, with the owning tenant's
# schema active. It must be idempotent: a replay runs it again.
WebhookHandler = Callable[[WebhookEvent], None]


class NeedsReview(Exception):
    """Raised by a handler for an event it must not apply (e.g. its metadata names another
    tenant's rows): the event is kept for review, changes nothing and is not retried."""


_handlers: dict[str, WebhookHandler] = {}


def register_webhook_handler(provider: str, handler: WebhookHandler) -> None:
    """Add (or replace) the handler of `provider`'s events."""
    _handlers[provider] = handler


def unregister_webhook_handler(provider: str) -> None:
    _handlers.pop(provider, None)


def webhook_handler(provider: str) -> WebhookHandler | None:
    return _handlers.get(provider)
