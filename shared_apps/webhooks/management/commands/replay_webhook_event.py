from django.core.management.base import BaseCommand, CommandError

from shared_apps.errors import DomainError
from shared_apps.webhooks import services


class Command(BaseCommand):
    help = (
        "Process a stored webhook event again from its raw body (never re-verified). An unrouted "
        "event is routed afresh first."
    )

    def add_arguments(self, parser):
        parser.add_argument("event_id", type=int)

    def handle(self, *args, event_id: int, **options):
        try:
            event = services.replay_webhook_event(event_id=event_id)
        except DomainError as error:
            raise CommandError(error.message) from error
        except Exception as error:
            raise CommandError(f"Processing failed: {type(error).__name__}: {error}") from error
        self.stdout.write(f"Webhook event {event.pk} ({event.provider}) is {event.status}.")
        if event.last_error:
            self.stdout.write(event.last_error)
