from django.core.management.base import BaseCommand, CommandError

from shared_apps.errors import DomainError
from shared_apps.outbox import services


class Command(BaseCommand):
    help = "Put a dead outbox message (GET /platform/outbox?status=dead) back in the queue, due now."

    def add_arguments(self, parser):
        parser.add_argument("message_id", type=int)

    def handle(self, *args, message_id: int, **options):
        try:
            message = services.retry_dead_outbox_message(message_id=message_id)
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write(f"Outbox message {message.pk} ({message.actor_name}) is queued again.")
