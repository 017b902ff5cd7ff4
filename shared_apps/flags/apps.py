from django.apps import AppConfig


class FlagsConfig(AppConfig):
    name = "shared_apps.flags"
    label = "flags"
