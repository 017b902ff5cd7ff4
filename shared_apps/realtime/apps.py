from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "shared_apps.realtime"
    label = "realtime"

    def ready(self) -> None:
        from shared_apps.realtime import streams

        streams.subscribe_all()
