"""The ASGI process beside gunicorn: live updates over WebSockets (api/realtime.py), served by
uvicorn (`uvicorn config.asgi:application`). HTTP here only answers `GET /ws/health`; the API
stays on gunicorn."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402 - after django.setup()
from django.urls import path, re_path  # noqa: E402

from api import realtime  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": realtime.health,
        "websocket": URLRouter(
            [
                path(realtime.PATH, realtime.EventsConsumer.as_asgi()),
                re_path(r"", realtime.UnknownPath.as_asgi()),
            ]
        ),
    }
)
