from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "shared_apps.idempotency"
    label = "idempotency"
