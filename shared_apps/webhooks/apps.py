from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "shared_apps.webhooks"
    label = "webhooks"
