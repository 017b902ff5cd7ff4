from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "shared_apps.stats"
    label = "stats"
